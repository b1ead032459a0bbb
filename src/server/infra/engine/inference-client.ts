import type { StreamServerMessage } from '../../../../libs/contracts/process';
import { RpcClient } from '../../../../libs/rpc/rpc';
import { type EngineCalls, type EngineEvents, engineErrors, type EngineSignals } from '../../../contract/engine-contract';
import type { EngineSettings, EngineStats, ModelListing, PipelineRequest, PipelineResult, StreamOptions, VoiceAnalysis } from '../../../contract/engine-types';
import { EarshotError } from '../../../contract/errors';
import { AdmissionQueue, type AdmissionOptions } from './admission-queue';
import { type EngineProcess, type StartEngine, startEngineWorker } from './engine-worker';

/** Told about every finished pipeline run (metrics, audio-seconds budgets). */
export interface ProcessObserver {
  processed(request: PipelineRequest, result: PipelineResult, elapsedMs: number, options: EngineRunOptions): void;
}

export interface EngineRunOptions extends AdmissionOptions {
  onProgress?: (fraction: number) => void;
  /** The API key whose audio budget the run's audio is charged to (the caller's, or a job's submitter's). */
  chargeTo?: string;
}

/**
 * The HTTP thread's handle on the inference engine (a worker thread). An engine that dies fails the requests it held
 * (the caller sees a clear error) and is replaced, so one crash never takes the service down.
 */
export class InferenceClient {
  private engine!: EngineProcess;
  private rpc!: RpcClient<EngineCalls, EngineSignals, EngineEvents>;
  /** Listeners of the live streams (/v1/ws) the engine holds. */
  private readonly streams = new Map<number, (message: StreamServerMessage) => void>();
  private nextStreamId = 1;
  private closing = false;
  /** Times the engine had to be replaced. */
  restarts = 0;

  constructor(
    private readonly settings: EngineSettings,
    /** Pipeline runs wait here for a slot; synchronous ones are refused (503) when it is full. */
    private readonly admission = new AdmissionQueue({ concurrency: 2, maxQueueLength: Infinity, maxQueueWaitMs: Infinity, maxRssBytes: 0 }),
    private readonly observer?: ProcessObserver,
    private readonly startEngine: StartEngine = startEngineWorker,
  ) {
    this.spawn();
  }

  /** `options.signal` cancels the run (waiting or running); `options.background` waits instead of being refused. */
  process(audioPath: string, request: PipelineRequest, options: EngineRunOptions = {}): Promise<PipelineResult> {
    return this.admission.run(async (signal) => {
      const started = performance.now();
      const result = await this.rpc.call('process', { audioPath, request }, { onProgress: options.onProgress, signal });
      this.observer?.processed(request, result, performance.now() - started, options);
      return result;
    }, options);
  }

  /** Speaker enrolment: the voices heard in the files, after waiting for an inference slot like any run. */
  voices(audioPaths: string[], options: AdmissionOptions = {}): Promise<VoiceAnalysis> {
    return this.admission.run((signal) => this.rpc.call('voices', { audioPaths }, { signal }), options);
  }

  async warmup(model: string): Promise<void> {
    await this.rpc.call('warmup', { model });
  }

  stats(): Promise<EngineStats> {
    return this.rpc.call('stats', null);
  }

  /** Every installed model, as the engine finds them on disk now. */
  models(): Promise<ModelListing[]> {
    return this.rpc.call('models', null);
  }

  /** Starts a live stream in the engine (its model loaded); its messages go to onMessage until "done" or "error". */
  async openStream(options: StreamOptions, onMessage: (message: StreamServerMessage) => void): Promise<number> {
    const streamId = this.nextStreamId++;
    this.streams.set(streamId, onMessage);
    try {
      await this.rpc.call('streamOpen', { streamId, options });
    } catch (err) {
      this.streams.delete(streamId);
      throw err;
    }
    return streamId;
  }

  pushStreamAudio(streamId: number, samples: Float32Array): void {
    this.rpc.signal('streamAudio', { streamId, samples });
  }

  endStream(streamId: number): void {
    this.rpc.signal('streamEnd', { streamId });
  }

  closeStream(streamId: number): void {
    this.streams.delete(streamId);
    this.rpc.signal('streamClose', { streamId });
  }

  streamStats(): Promise<{ streams: number }> {
    return this.rpc.call('streamStats', null);
  }

  get inFlight(): number {
    return this.rpc.pending;
  }

  /**
   * Cancels what is running and waits (up to `graceMs`) for it to stop before ending the engine: terminating a
   * worker inside an onnxruntime run aborts the whole process.
   */
  async close(graceMs = 30_000): Promise<void> {
    this.closing = true;
    this.rpc.cancelAll();
    for (const streamId of [...this.streams.keys()]) this.closeStream(streamId);
    const deadline = Date.now() + graceMs;
    while (this.rpc.pending && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await this.engine.terminate();
  }

  private spawn(): void {
    const engine = this.startEngine(this.settings);
    const rpc = new RpcClient<EngineCalls, EngineSignals, EngineEvents>(engine.port, {
      toError: engineErrors.toError,
      events: { streamEvent: ({ streamId, message }) => this.onStreamEvent(streamId, message) },
    });
    engine.onExit((reason) => this.onExit(rpc, reason));
    this.engine = engine;
    this.rpc = rpc;
  }

  private onStreamEvent(streamId: number, message: StreamServerMessage): void {
    const listener = this.streams.get(streamId);
    if (message.type === 'done' || message.type === 'error') this.streams.delete(streamId);
    listener?.(message);
  }

  private onExit(rpc: RpcClient<EngineCalls, EngineSignals, EngineEvents>, reason: string): void {
    rpc.failAll(new EarshotError('internal', reason));
    for (const listener of this.streams.values()) listener({ type: 'error', code: 'internal', message: reason });
    this.streams.clear();
    if (this.closing) return;
    this.restarts++;
    this.spawn();
  }
}
