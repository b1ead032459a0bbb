import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { EarshotError } from '../../core/errors';
import type { PipelineRequest, PipelineResult } from '../../core/pipeline';
import { AdmissionQueue, type AdmissionOptions } from './admission-queue';
import type { WorkerReply, WorkerRequest, WorkerSettings, WorkerStats } from './protocol';

/** Told about every finished pipeline run (metrics, audio-seconds budgets); runs in the caller's async context. */
export interface ProcessObserver {
  processed(request: PipelineRequest, result: PipelineResult, elapsedMs: number): void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  onProgress?: (fraction: number) => void;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * The HTTP thread's handle on the inference worker. A worker that dies fails the requests it held (the caller
 * sees a clear error) and is replaced, so one crash never takes the service down.
 */
export class InferenceClient {
  private worker!: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing = false;
  /** Times the worker had to be replaced. */
  restarts = 0;

  constructor(
    private readonly settings: WorkerSettings,
    /** Pipeline runs wait here for a slot; synchronous ones are refused (503) when it is full. */
    private readonly admission = new AdmissionQueue({ concurrency: 2, maxQueueLength: Infinity, maxQueueWaitMs: Infinity, maxRssBytes: 0 }),
    private readonly observer?: ProcessObserver,
  ) {
    this.spawn();
  }

  /** `options.signal` cancels the run (waiting or running); `options.background` waits instead of being refused. */
  process(
    audioPath: string,
    request: PipelineRequest,
    onProgress?: (fraction: number) => void,
    options?: AdmissionOptions,
  ): Promise<PipelineResult> {
    return this.admission.run(async (signal) => {
      const started = performance.now();
      const result = (await this.call({ type: 'process', audioPath, request }, onProgress, signal)) as PipelineResult;
      this.observer?.processed(request, result, performance.now() - started);
      return result;
    }, options);
  }

  warmup(model: string): Promise<void> {
    return this.call({ type: 'warmup', model }) as Promise<void>;
  }

  stats(): Promise<WorkerStats> {
    return this.call({ type: 'stats' }) as Promise<WorkerStats>;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Cancels what is running and waits (up to `graceMs`) for it to stop before ending the worker: terminating a
   * worker inside an onnxruntime run aborts the whole process.
   */
  async close(graceMs = 30_000): Promise<void> {
    this.closing = true;
    for (const id of this.pending.keys()) this.worker.postMessage({ type: 'cancel', id } satisfies WorkerRequest);
    const deadline = Date.now() + graceMs;
    while (this.pending.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await this.worker.terminate();
  }

  private call(msg: WithoutId<WorkerRequest>, onProgress?: (fraction: number) => void, signal?: AbortSignal): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => this.worker.postMessage({ type: 'cancel', id } satisfies WorkerRequest);
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = <T>(fn: (v: T) => void) => (v: T) => {
        signal?.removeEventListener('abort', onAbort);
        fn(v);
      };
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject), onProgress });
      this.worker.postMessage({ ...msg, id } as WorkerRequest);
    });
  }

  private spawn(): void {
    // Under ts-node/jest the worker runs from source; in a build, from dist.
    const compiled = join(__dirname, 'worker-main.js');
    const worker = existsSync(compiled)
      ? new Worker(compiled, { workerData: this.settings })
      : new Worker(join(__dirname, 'worker-main.ts'), {
          workerData: this.settings,
          execArgv: ['--require', 'ts-node/register/transpile-only'],
        });
    worker.on('message', (msg: WorkerReply) => this.onReply(msg));
    worker.on('error', (err) => this.onExit(`inference worker failed: ${err.message}`));
    worker.on('exit', (code) => {
      if (worker === this.worker) this.onExit(`inference worker exited with code ${code}`);
    });
    this.worker = worker;
  }

  private onReply(msg: WorkerReply): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress') {
      p.onProgress?.(msg.fraction);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === 'done') p.resolve(msg.value);
    else p.reject(new EarshotError(msg.code, msg.message));
  }

  private onExit(reason: string): void {
    for (const p of this.pending.values()) p.reject(new EarshotError('internal', reason));
    this.pending.clear();
    if (this.closing) return;
    this.restarts++;
    this.spawn();
  }
}
