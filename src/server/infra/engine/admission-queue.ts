import { AsyncResource } from 'node:async_hooks';
import { EarshotError } from '../../../contract/errors';

export interface AdmissionLimits {
  /** Work items running at once. */
  concurrency: number;
  /**
   * Further items let into the engine beside them (STT_BATCH_MAX_REQUESTS when batching is on): there only short
   * transcriptions go on, sharing decoder batches; anything else waits in the engine for one of `concurrency` places.
   * Waits are still estimated as `concurrency` at a time.
   */
  batchSlots?: number;
  /** Synchronous items allowed to wait; more are refused. */
  maxQueueLength: number;
  /** A synchronous item whose estimated wait is longer is refused. */
  maxQueueWaitMs: number;
  /** Above this resident memory synchronous items are refused; 0 = no guard. */
  maxRssBytes: number;
}

export interface AdmissionOptions {
  /** Background work (jobs) is never refused: it waits for its turn. */
  background?: boolean;
  /** Aborting removes a waiting item or cancels a running one (the HTTP request's, or the job's). */
  signal?: AbortSignal;
}

/** What the queue reports, for metrics. */
export interface AdmissionObserver {
  depthChanged(queued: number, running: number): void;
  started(waitMs: number): void;
  refused(reason: 'queue_full' | 'wait_too_long' | 'memory'): void;
}

interface Waiting {
  start: () => void;
  background: boolean;
}

/** Exponentially weighted mean of service times: recent runs count most, the load they ran under included. */
const SERVICE_TIME_WEIGHT = 0.2;

/**
 * A bounded queue with a fixed concurrency in front of the inference worker. Synchronous work that would wait too
 * long, or find the queue full or memory high, is refused at once with 503 + Retry-After rather than piling up.
 */
export class AdmissionQueue {
  private running = 0;
  private readonly waiting: Waiting[] = [];
  private meanServiceMs = 0;

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly observer?: AdmissionObserver,
    private readonly rssBytes: () => number = () => process.memoryUsage.rss(),
  ) {}

  get depth(): { queued: number; running: number } {
    return { queued: this.waiting.length, running: this.running };
  }

  /** Expected wait for an item queued now: the items ahead drain `concurrency` at a time. */
  estimatedWaitMs(): number {
    if (this.running < this.slots) return 0;
    return this.meanServiceMs * Math.ceil((this.waiting.length + 1) / this.limits.concurrency);
  }

  run<T>(work: (signal: AbortSignal) => Promise<T>, options: AdmissionOptions = {}): Promise<T> {
    const background = options.background ?? false;
    const signal = options.signal;
    try {
      if (!background) this.admitOrThrow();
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const controller = new AbortController();
    // The item may start from another request's continuation: keep the caller's async context (its log bindings).
    const bound = AsyncResource.bind(() => work(controller.signal));
    return new Promise<T>((resolve, reject) => {
      const enqueued = performance.now();
      const onAbort = () => {
        const at = this.waiting.indexOf(item);
        if (at >= 0) {
          this.waiting.splice(at, 1);
          this.report();
        }
        controller.abort(signal!.reason);
        reject(signal!.reason);
      };
      const item: Waiting = {
        background,
        start: () => {
          this.running++;
          this.observer?.started(performance.now() - enqueued);
          const began = performance.now();
          // The slot is freed before the caller hears the outcome, so what it does next sees the queue as it is.
          const finish = () => {
            signal?.removeEventListener('abort', onAbort);
            this.running--;
            this.meanServiceMs += SERVICE_TIME_WEIGHT * (performance.now() - began - this.meanServiceMs);
            this.next();
          };
          bound().then(
            (value) => {
              finish();
              resolve(value);
            },
            (err: unknown) => {
              finish();
              reject(err);
            },
          );
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(item);
      this.next();
    });
  }

  private admitOrThrow(): void {
    const { maxRssBytes, maxQueueLength, maxQueueWaitMs } = this.limits;
    if (maxRssBytes > 0 && this.rssBytes() > maxRssBytes) {
      this.observer?.refused('memory');
      throw new EarshotError('overloaded', `memory use is over MAX_RSS_MB (${Math.round(maxRssBytes / 2 ** 20)} MB); retry later`, 30);
    }
    if (this.running < this.slots) return;
    const waitMs = this.estimatedWaitMs();
    const retryAfterS = Math.max(1, Math.ceil((waitMs || this.meanServiceMs) / 1000));
    if (this.waiting.filter((w) => !w.background).length >= maxQueueLength) {
      this.observer?.refused('queue_full');
      throw new EarshotError('overloaded', `the inference queue is full (${maxQueueLength} waiting); retry later`, retryAfterS);
    }
    if (waitMs > maxQueueWaitMs) {
      this.observer?.refused('wait_too_long');
      throw new EarshotError('overloaded', `the estimated wait (${Math.round(waitMs / 1000)} s) is over MAX_QUEUE_WAIT_MS; retry later`, retryAfterS);
    }
  }

  private get slots(): number {
    return this.limits.concurrency + (this.limits.batchSlots ?? 0);
  }

  private next(): void {
    while (this.running < this.slots && this.waiting.length) this.waiting.shift()!.start();
    this.report();
  }

  private report(): void {
    this.observer?.depthChanged(this.waiting.length, this.running);
  }
}
