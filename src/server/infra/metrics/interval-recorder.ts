import type { IntervalObservations } from '../../core/dashboard/dashboard-service';

/** Route families that are not API calls: probes, metrics, the API docs, the web UI and the dashboard's own feed. */
const NOT_API = ['/health', '/ready', '/metrics', '/docs', '/docs-json', '/docs-yaml', '/dashboard', '/ui', '/v1/dashboard'];

/** Whether requests to `route` (Fastify's route pattern, or "unmatched") count as API requests on the dashboard. */
export function isApiRoute(route: string): boolean {
  if (route === '/' || route === 'unmatched') return false;
  return !NOT_API.some((prefix) => route === prefix || route.startsWith(`${prefix}/`));
}

/**
 * The raw observations of one dashboard interval: the duration of every API request (kept whole, so the
 * percentiles are exact rather than read from histogram buckets), error answers by code, and the audio and
 * real-time factors of the pipeline runs that finished. `take()` hands them over and starts a new interval.
 */
export class IntervalRecorder {
  private requestSeconds = new Float64Array(256);
  private requests = 0;
  private errors: Record<string, number> = {};
  private audioSeconds = 0;
  private rtf: Record<string, { sum: number; count: number }> = {};

  request(seconds: number): void {
    if (this.requests === this.requestSeconds.length) {
      const grown = new Float64Array(this.requestSeconds.length * 2);
      grown.set(this.requestSeconds);
      this.requestSeconds = grown;
    }
    this.requestSeconds[this.requests++] = seconds;
  }

  error(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  /** One finished pipeline run: its audio once, and each task's real-time factor. */
  run(audioSeconds: number, rtfByTask: Record<string, number>): void {
    this.audioSeconds += audioSeconds;
    for (const [task, rtf] of Object.entries(rtfByTask)) {
      const entry = (this.rtf[task] ??= { sum: 0, count: 0 });
      entry.sum += rtf;
      entry.count++;
    }
  }

  take(): IntervalObservations {
    const taken: IntervalObservations = {
      requestSeconds: this.requestSeconds.slice(0, this.requests),
      errors: this.errors,
      audioSeconds: this.audioSeconds,
      rtf: this.rtf,
    };
    this.requests = 0;
    this.errors = {};
    this.audioSeconds = 0;
    this.rtf = {};
    return taken;
  }
}
