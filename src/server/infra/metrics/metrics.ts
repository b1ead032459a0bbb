import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { QueueStats } from '../../../../libs/contracts/process';
import type { EngineStats, PipelineRequest, PipelineResult } from '../../../contract/engine-types';
import type { AdmissionObserver } from '../engine/admission-queue';
import type { ProcessObserver } from '../engine/inference-client';
import { IntervalRecorder, isApiRoute } from './interval-recorder';

const SECONDS_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

/**
 * Every Prometheus metric Earshot exports, in one registry served at GET /metrics. Other parts add theirs with
 * `counter` / `gauge` / `histogram` (get-or-create by name) or use the shared ones here (`activeStreams`,
 * and `watchEngine` / `watchJobs` for figures read at scrape time).
 */
export class Metrics implements AdmissionObserver, ProcessObserver {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'earshot_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'earshot_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly audioSeconds = new Counter({
    name: 'earshot_audio_seconds_processed_total',
    help: 'Seconds of audio processed, by task and model',
    labelNames: ['task', 'model'],
    registers: [this.registry],
  });
  readonly realTimeFactor = new Histogram({
    name: 'earshot_real_time_factor',
    help: 'Processing time / audio duration per run, by task and model',
    labelNames: ['task', 'model'],
    buckets: [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'earshot_inference_queue_depth', help: 'Pipeline runs waiting for a slot', registers: [this.registry] });
  readonly queueRunning = new Gauge({ name: 'earshot_inference_running', help: 'Pipeline runs in progress', registers: [this.registry] });
  readonly queueWait = new Histogram({
    name: 'earshot_inference_queue_wait_seconds',
    help: 'Time a pipeline run waited for a slot',
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly admissionRefused = new Counter({
    name: 'earshot_admission_refused_total',
    help: 'Synchronous work refused with 503, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'earshot_rate_limited_total',
    help: 'Requests refused with 429, by limit',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  /** WebSocket streams open now: inc() on accept, dec() on close. */
  readonly activeStreams = new Gauge({ name: 'earshot_active_streams', help: 'Open WebSocket streams', registers: [this.registry] });
  readonly errors = new Counter({
    name: 'earshot_errors_total',
    help: 'Error answers by error code (HTTP and WebSocket)',
    labelNames: ['code'],
    registers: [this.registry],
  });
  /** The raw observations of the dashboard's current interval. */
  readonly interval = new IntervalRecorder();

  private engineSource?: () => Promise<EngineStats>;
  private jobsSource?: () => Promise<QueueStats>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'earshot_' }); // memory, CPU, event-loop lag, GC
    // prom-client calls collect() with the gauge as `this`.
    const readEngine = () => this.read(this.engineSource);
    const readJobs = () => this.read(this.jobsSource);
    const cacheGauge = (field: 'hits' | 'misses' | 'evictions' | 'bytes' | 'loads', help: string) =>
      new Gauge({
        name: `earshot_model_cache_${field}`,
        help,
        registers: [this.registry],
        async collect() {
          const stats = await readEngine();
          if (stats) this.set(stats.cache[field]);
        },
      });
    cacheGauge('hits', 'Model cache hits since start');
    cacheGauge('misses', 'Model cache misses since start');
    cacheGauge('evictions', 'Models evicted from the cache since start');
    cacheGauge('loads', 'Model loads since start');
    cacheGauge('bytes', 'Bytes of models held in the cache');
    const batchGauge = (field: 'batches' | 'requests', name: string, help: string) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          const stats = await readEngine();
          if (stats) this.set(stats.sttBatches[field]);
        },
      });
    batchGauge('batches', 'earshot_stt_batches', 'Decoder batches of short (one-window) transcriptions since start');
    batchGauge('requests', 'earshot_stt_batched_requests', 'Short transcriptions decoded in those batches (more than batches: requests shared one)');
    new Gauge({
      name: 'earshot_jobs',
      help: 'Background jobs by status',
      labelNames: ['status'],
      registers: [this.registry],
      async collect() {
        const stats = await readJobs();
        if (stats) for (const [status, n] of Object.entries(stats.depth)) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'earshot_jobs_oldest_queued_age_seconds',
      help: 'Age of the oldest queued job (0 when none waits)',
      registers: [this.registry],
      async collect() {
        const stats = await readJobs();
        if (stats) this.set(stats.oldest_queued_age_s ?? 0);
      },
    });
  }

  /** Where the job queue figures come from. */
  watchJobs(source: () => Promise<QueueStats>): void {
    this.jobsSource = source;
  }

  /** Where the model cache and batching figures come from (the inference worker). */
  watchEngine(source: () => Promise<EngineStats>): void {
    this.engineSource = source;
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter {
    return (this.registry.getSingleMetric(name) as Counter) ?? new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  gauge(name: string, help: string, labelNames: string[] = []): Gauge {
    return (this.registry.getSingleMetric(name) as Gauge) ?? new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  histogram(name: string, help: string, labelNames: string[] = [], buckets = SECONDS_BUCKETS): Histogram {
    return (this.registry.getSingleMetric(name) as Histogram) ?? new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
    if (isApiRoute(route)) this.interval.request(seconds);
  }

  /** An error answer was sent (HTTP body or WebSocket error frame) with this code. */
  errorSent(code: string): void {
    this.errors.inc({ code });
    this.interval.error(code);
  }

  depthChanged(queued: number, running: number): void {
    this.queueDepth.set(queued);
    this.queueRunning.set(running);
  }

  started(waitMs: number): void {
    this.queueWait.observe(waitMs / 1000);
  }

  refused(reason: string): void {
    this.admissionRefused.inc({ reason });
  }

  processed(request: PipelineRequest, result: PipelineResult, elapsedMs: number): void {
    const duration = result.audio.duration_s;
    const rtfByTask: Record<string, number> = {};
    for (const task of request.tasks) {
      const model = task === 'transcribe' ? request.transcribe.model : 'default';
      this.audioSeconds.inc({ task, model }, duration);
      // The task's own time when the pipeline reports it, else the whole run's.
      const taskMs = result.timings_ms[task] ?? elapsedMs;
      if (duration <= 0) continue;
      rtfByTask[task] = taskMs / 1000 / duration;
      this.realTimeFactor.observe({ task, model }, rtfByTask[task]);
    }
    this.interval.run(duration, rtfByTask);
  }

  /** Figures from a source that may be briefly unavailable (a restarting worker, Redis): skipped for this scrape. */
  private async read<T>(source: (() => Promise<T>) | undefined): Promise<T | undefined> {
    try {
      return await source?.();
    } catch {
      return undefined;
    }
  }
}
