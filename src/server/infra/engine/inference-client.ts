import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { EarshotError } from '../../../contract/errors';
import type { StreamServerMessage } from '../../../../libs/contracts/process';
import type { PipelineRequest, PipelineResult, VoiceAnalysis } from '../../../engine/core/pipeline';
import type { StreamOptions } from '../../../engine/core/stream/stream-session';
import { AdmissionQueue, type AdmissionOptions } from './admission-queue';
import type { WorkerReply, WorkerRequest, WorkerSettings, WorkerStats, WorkerStreamMessage, WorkerStreamStats } from '../../../contract/engine-protocol';

/** Told about every finished pipeline run (metrics, audio-seconds budgets); runs in the caller's async context. */
export interface ProcessObserver {
  processed(request: PipelineRequest, result: PipelineResult, elapsedMs: number): void;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  onProgress?: (fraction: number) => void;
}

/** The engine's entry point: the one file of src/engine the HTTP thread names, and only as a path. */
const ENGINE_DIR = join(__dirname, '../../../engine');

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * The HTTP thread's handle on the inference worker. A worker that dies fails the requests it held (the caller
 * sees a clear error) and is replaced, so one crash never takes the service down.
 */
export class InferenceClient {
  private worker!: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Listeners of the live streams (/v1/ws) the worker holds. */
  private readonly streams = new Map<number, (message: StreamServerMessage) => void>();
  private nextStreamId = 1;
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

  /** Speaker enrolment: the voices heard in the files, after waiting for an inference slot like any run. */
  voices(audioPaths: string[]): Promise<VoiceAnalysis> {
    return this.admission.run(async (signal) => (await this.call({ type: 'voices', audioPaths }, undefined, signal)) as VoiceAnalysis);
  }

  warmup(model: string): Promise<void> {
    return this.call({ type: 'warmup', model }) as Promise<void>;
  }

  stats(): Promise<WorkerStats> {
    return this.call({ type: 'stats' }) as Promise<WorkerStats>;
  }

  /** Starts a live stream in the worker (its model loaded); its messages go to onMessage until "done" or "error". */
  async openStream(options: StreamOptions, onMessage: (message: StreamServerMessage) => void): Promise<number> {
    const streamId = this.nextStreamId++;
    this.streams.set(streamId, onMessage);
    try {
      await this.call({ type: 'stream-open', streamId, options });
    } catch (err) {
      this.streams.delete(streamId);
      throw err;
    }
    return streamId;
  }

  pushStreamAudio(streamId: number, samples: Float32Array): void {
    this.post({ type: 'stream-audio', streamId, samples });
  }

  endStream(streamId: number): void {
    this.post({ type: 'stream-end', streamId });
  }

  closeStream(streamId: number): void {
    this.streams.delete(streamId);
    this.post({ type: 'stream-close', streamId });
  }

  streamStats(): Promise<WorkerStreamStats> {
    return this.call({ type: 'stream-stats' }) as Promise<WorkerStreamStats>;
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
    for (const streamId of [...this.streams.keys()]) this.closeStream(streamId);
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

  private post(msg: WorkerStreamMessage): void {
    this.worker.postMessage(msg);
  }

  private spawn(): void {
    // Under ts-node/jest the worker runs from source; in a build, from dist.
    const compiled = join(ENGINE_DIR, 'worker-main.js');
    const worker = existsSync(compiled)
      ? new Worker(compiled, { workerData: this.settings })
      : new Worker(join(ENGINE_DIR, 'worker-main.ts'), {
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
    if (msg.type === 'stream-event') {
      const listener = this.streams.get(msg.streamId);
      if (msg.message.type === 'done' || msg.message.type === 'error') this.streams.delete(msg.streamId);
      listener?.(msg.message);
      return;
    }
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
    for (const listener of this.streams.values()) listener({ type: 'error', code: 'internal', message: reason });
    this.streams.clear();
    if (this.closing) return;
    this.restarts++;
    this.spawn();
  }
}
