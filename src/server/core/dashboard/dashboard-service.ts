import { DASHBOARD_TASKS, type DashboardHistory, type DashboardSample } from '../../../../libs/contracts/dashboard';
import type { JobStatus } from '../../../../libs/contracts/process';
import { percentile } from '../../../../libs/math/percentile';
import { cpuPercent, meanOf, perSecond } from '../../../../libs/math/rates';
import { RingBuffer } from '../../../../libs/math/ring-buffer';

/** What was observed between two samples; taking it starts the next interval. */
export interface IntervalObservations {
  /** Seconds each API request answered in the interval took. */
  requestSeconds: Float64Array;
  /** Error answers by error code. */
  errors: Record<string, number>;
  /** Seconds of audio of the pipeline runs that finished (each run once, whatever its tasks). */
  audioSeconds: number;
  /** Real-time factors of those runs by task: their sum and count. */
  rtf: Record<string, { sum: number; count: number }>;
}

/** Where the dashboard's figures come from; any of them may fail or be slow, and is then left out of a sample. */
export interface DashboardSources {
  jobDepth(): Promise<Record<JobStatus, number>>;
  /** The newest `limit` running jobs. */
  runningJobs(limit: number): Promise<NonNullable<DashboardSample['running_jobs']>>;
  inferenceQueue(): { queued: number; running: number };
  modelCache(): Promise<Array<{ name: string; bytes: number; in_use: number }>>;
  activeStreams(): Promise<number>;
  takeInterval(): IntervalObservations;
  /** Cumulative CPU time of the process, all threads (process.cpuUsage()). */
  cpuUsage(): { user: number; system: number };
  memoryUsage(): { rss: number; heapUsed: number; heapTotal: number };
  cores: number;
}

export interface DashboardOptions {
  intervalMs: number;
  /** How much history is kept: 15 minutes. */
  windowMs?: number;
  /** Running jobs listed per sample. */
  runningJobsShown?: number;
}

const MB = 1024 * 1024;
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const roundOrNull = (x: number | null, digits?: number) => (x === null ? null : round(x, digits));

/**
 * Samples the service every `intervalMs` into a ring of the last 15 minutes and tells the listeners (the live
 * dashboard) about each new sample. Sampling is cheap and never throws: a source that fails, or is still busy
 * with the previous sample's call, or takes longer than half an interval, is left out (null) of that sample.
 */
export class DashboardService {
  private readonly samples: RingBuffer<DashboardSample>;
  private readonly listeners = new Set<(sample: DashboardSample) => void>();
  private readonly busySources = new Set<string>();
  private readonly windowMs: number;
  private readonly runningJobsShown: number;
  private readonly sourceTimeoutMs: number;
  private timer?: NodeJS.Timeout;
  private lastAt = 0;
  private lastCpu?: { user: number; system: number };

  constructor(
    private readonly sources: DashboardSources,
    private readonly options: DashboardOptions,
  ) {
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.runningJobsShown = options.runningJobsShown ?? 5;
    this.sourceTimeoutMs = Math.min(options.intervalMs / 2, 2000);
    this.samples = new RingBuffer(Math.ceil(this.windowMs / options.intervalMs));
    this.startInterval();
  }

  start(): void {
    this.stop();
    this.startInterval();
    this.timer = setInterval(() => void this.sample(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  history(): DashboardHistory {
    return { interval_s: this.options.intervalMs / 1000, window_s: this.windowMs / 1000, samples: this.samples.toArray() };
  }

  /** Calls `listener` with every new sample until the returned function is called. */
  subscribe(listener: (sample: DashboardSample) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Listeners subscribed now (the open dashboards). */
  get subscribers(): number {
    return this.listeners.size;
  }

  /** Takes one sample, keeps it and hands it to the listeners. */
  async sample(): Promise<DashboardSample> {
    const now = performance.now();
    const elapsedMs = now - this.lastAt;
    this.lastAt = now;
    const t = Date.now();
    const observed = this.read(() => this.sources.takeInterval());
    const cpu = this.read(() => this.sources.cpuUsage());
    const memory = this.read(() => this.sources.memoryUsage());
    const inference = this.read(() => this.sources.inferenceQueue());
    const [jobs, runningJobs, models, streams] = await Promise.all([
      this.readAsync('jobs', () => this.sources.jobDepth()),
      this.readAsync('running-jobs', () => this.sources.runningJobs(this.runningJobsShown)),
      this.readAsync('models', () => this.sources.modelCache()),
      this.readAsync('streams', () => this.sources.activeStreams()),
    ]);

    const requestSeconds = observed?.requestSeconds ?? new Float64Array(0);
    const p50 = percentile(requestSeconds, 50);
    const p95 = percentile(requestSeconds, 95);
    const audioSeconds = observed?.audioSeconds ?? 0;
    const cpuSince = cpu && this.lastCpu ? { user: cpu.user - this.lastCpu.user, system: cpu.system - this.lastCpu.system } : undefined;
    if (cpu) this.lastCpu = cpu;
    const sample: DashboardSample = {
      t,
      interval_s: round(elapsedMs / 1000, 3),
      jobs,
      running_jobs: runningJobs,
      inference,
      throughput: round(perSecond(audioSeconds, elapsedMs), 3),
      audio_s: round(audioSeconds, 2),
      requests: { count: requestSeconds.length, p50_ms: roundOrNull(p50 === null ? null : p50 * 1000), p95_ms: roundOrNull(p95 === null ? null : p95 * 1000) },
      rtf: Object.fromEntries(
        DASHBOARD_TASKS.map((task) => [task, roundOrNull(meanOf(observed?.rtf[task]?.sum ?? 0, observed?.rtf[task]?.count ?? 0), 3)]),
      ) as DashboardSample['rtf'],
      streams,
      models: models?.map((m) => ({ name: m.name, mb: round(m.bytes / MB), in_use: m.in_use })) ?? null,
      cpu: cpuSince ? { percent: round(cpuPercent(cpuSince, elapsedMs)), cores: this.sources.cores } : null,
      memory_mb: memory ? { rss: round(memory.rss / MB), heap_used: round(memory.heapUsed / MB), heap_total: round(memory.heapTotal / MB) } : null,
      errors: observed?.errors ?? {},
    };
    this.samples.push(sample);
    for (const listener of this.listeners) {
      try {
        listener(sample);
      } catch {
        // One broken listener must not stop the others or the sampling.
      }
    }
    return sample;
  }

  /** The interval the next sample covers starts now. */
  private startInterval(): void {
    this.lastAt = performance.now();
    this.lastCpu = this.read(() => this.sources.cpuUsage()) ?? undefined;
  }

  private read<T>(source: () => T): T | null {
    try {
      return source();
    } catch {
      return null;
    }
  }

  /** An async source, at most one call at a time, given up on (null) after sourceTimeoutMs. */
  private async readAsync<T>(name: string, source: () => Promise<T>): Promise<T | null> {
    if (this.busySources.has(name)) return null;
    this.busySources.add(name);
    const call = Promise.resolve()
      .then(source)
      .then(
        (value) => value,
        () => null,
      )
      .finally(() => this.busySources.delete(name));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), this.sourceTimeoutMs);
    });
    try {
      return await Promise.race([call, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
