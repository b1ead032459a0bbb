/** How short requests are grouped into shared batches (STT_BATCH_WAIT_MS, STT_BATCH_MAX_REQUESTS). */
export interface WindowBatcherSettings {
  /** How long a job that finds the batcher idle waits for companions; 0: only jobs already waiting join it. */
  waitMs: number;
  /** Most jobs in one batch. */
  maxJobs: number;
  /** Told the size of every batch that starts (metrics). */
  onBatch?: (jobs: number) => void;
}

interface Waiting<J, R> {
  key: string;
  job: J;
  /** Most jobs the batch this one joins may hold (its decoder rows allow no more). */
  limit: number;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Groups jobs that arrive together into batches for `run`, one batch at a time: a decoder step over several rows
 * costs far less than one step per row, so requests that wait for each other are answered sooner. Only jobs with
 * the same key (the same decoding options) share a batch; the oldest waiting job's key goes first. A job that
 * finds the batcher idle waits `waitMs` for companions; jobs that arrive while a batch runs start together as soon
 * as it ends. A job is answered as soon as its own result is ready (not when a slower companion's is). When a
 * shared batch fails, each of its unanswered jobs is run alone, so one request's failure stays its own.
 */
export class WindowBatcher<J, R> {
  private readonly waiting: Array<Waiting<J, R>> = [];
  private running = false;
  /** Cancels the pending start, while one is pending. */
  private cancelStart: (() => void) | null = null;

  constructor(
    private readonly settings: WindowBatcherSettings,
    /** Runs a batch, settling each job (by its index) as soon as its result is ready; resolves once all are. */
    private readonly run: (jobs: J[], settle: (index: number, result: R) => void) => Promise<void>,
  ) {}

  /** `job`'s result, once the batch it joined has run; `limit` caps the size of that batch. */
  submit(key: string, job: J, limit: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ key, job, limit, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || !this.waiting.length) return;
    const head = this.waiting[0];
    const companions = this.waiting.filter((w) => w.key === head.key).length;
    if (companions >= this.capacity(head)) {
      this.startNow();
    } else if (!this.cancelStart) {
      // Even with no wait, jobs submitted in the same turn of the event loop start together.
      if (this.settings.waitMs > 0) {
        const timer = setTimeout(() => this.startNow(), this.settings.waitMs);
        this.cancelStart = () => clearTimeout(timer);
      } else {
        const immediate = setImmediate(() => this.startNow());
        this.cancelStart = () => clearImmediate(immediate);
      }
    }
  }

  private capacity(head: Waiting<J, R>): number {
    return Math.max(1, Math.min(this.settings.maxJobs, head.limit));
  }

  private startNow(): void {
    this.cancelStart?.();
    this.cancelStart = null;
    if (this.running || !this.waiting.length) return;
    const head = this.waiting[0];
    const capacity = this.capacity(head);
    const batch: Array<Waiting<J, R>> = [];
    for (let i = 0; i < this.waiting.length && batch.length < capacity;) {
      if (this.waiting[i].key === head.key) batch.push(...this.waiting.splice(i, 1));
      else i++;
    }
    this.running = true;
    this.settings.onBatch?.(batch.length);
    void this.runBatch(batch).finally(() => {
      this.running = false;
      if (this.waiting.length) this.startNow();
    });
  }

  private async runBatch(batch: Array<Waiting<J, R>>): Promise<void> {
    const settled = batch.map(() => false);
    try {
      await this.run(
        batch.map((w) => w.job),
        (i, result) => {
          settled[i] = true;
          batch[i].resolve(result);
        },
      );
    } catch (err) {
      const unsettled = batch.filter((_, i) => !settled[i]);
      if (batch.length === 1) return batch[0].reject(err);
      for (const w of unsettled) await this.runBatch([w]);
    }
  }
}
