import { parentPort, workerData } from 'node:worker_threads';
import { EarshotError } from '../../core/errors';
import { AudioPipeline, type TranscriberProvider } from '../../core/pipeline';
import { ModelCache } from '../models/model-cache';
import { ModelRegistry } from '../models/model-registry';
import { SileroVad } from '../models/silero-vad';
import { type LoadedWhisper, loadWhisper } from '../models/whisper-loader';
import type { WorkerReply, WorkerRequest, WorkerSettings } from './protocol';

/**
 * The inference thread: onnxruntime runs block the thread that calls them, so every model and the whole audio
 * pipeline live here, and the HTTP thread only passes messages.
 */
const settings = workerData as WorkerSettings;
const port = parentPort!;
const registry = new ModelRegistry(settings.modelsDir);

const vadReady = SileroVad.load({ modelPath: SileroVad.defaultModelPath(), intraOpNumThreads: 1 });

const cache = new ModelCache<LoadedWhisper>({
  ...settings.cache,
  load: async (name) => {
    const installed = registry.find(name);
    if (!installed) throw new EarshotError('model_not_found', `model "${name}" is not installed`);
    const loaded = await loadWhisper(name, installed.dir, settings.runtime, await vadReady);
    return { value: loaded, sizeBytes: loaded.model.sizeBytes };
  },
});

const transcribers: TranscriberProvider = {
  withTranscriber: (model, fn) => cache.use(model, (loaded) => fn(loaded.transcriber)),
};
const pipeline = new AudioPipeline(transcribers, settings.limits);

/** Runs whose caller went away (disconnect, timeout): they stop at their next progress point. */
const cancelled = new Set<number>();

function reply(message: WorkerReply): void {
  port.postMessage(message);
}

async function handle(msg: WorkerRequest): Promise<void> {
  try {
    switch (msg.type) {
      case 'process': {
        let last = -1;
        const value = await pipeline.run(msg.audioPath, msg.request, (fraction) => {
          if (cancelled.has(msg.id)) throw new EarshotError('timeout', 'cancelled: the client went away or the request timed out');
          // Progress messages are cheap but not free: one per percent at most.
          if (Math.floor(fraction * 100) !== last) {
            last = Math.floor(fraction * 100);
            reply({ id: msg.id, type: 'progress', fraction });
          }
        });
        reply({ id: msg.id, type: 'done', value });
        break;
      }
      case 'warmup': {
        const second = new Float32Array(16000);
        await cache.use(msg.model, (m) =>
          m.transcriber.transcribe(second, {
            language: 'en', task: 'transcribe', beamSize: 1, temperature: 0, wordTimestamps: false,
            initialPrompt: null, vadFilter: false, batchSize: 1,
          }),
        );
        reply({ id: msg.id, type: 'done', value: null });
        break;
      }
      case 'stats':
        reply({ id: msg.id, type: 'done', value: { cache: cache.stats(), loaded: cache.keys() } });
        break;
      case 'cancel':
        cancelled.add(msg.id);
        break;
    }
  } catch (err) {
    const code = err instanceof EarshotError ? err.code : 'internal';
    reply({ id: msg.id, type: 'failed', code, message: (err as Error).message });
  } finally {
    if (msg.type === 'process') cancelled.delete(msg.id);
  }
}

port.on('message', (msg: WorkerRequest) => void handle(msg));
