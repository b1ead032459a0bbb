import { parentPort, workerData } from 'node:worker_threads';
import { EarshotError } from '../contract/errors';
import type { Diarizer } from './core/diarization/diarizer';
import { EmotionAnalyzer } from './core/emotion/emotion-analyzer';
import type { EmotionModel } from './core/emotion/emotion-model';
import { AudioPipeline, type DiarizerProvider, type EmotionModelProvider, type TranscriberProvider } from './core/pipeline';
import { StreamHub } from './core/stream/stream-hub';
import { DiarizationRegistry, loadDiarizer } from './models/diarization-models';
import { loadEmotionModel } from './models/emotion-models';
import { EmotionRegistry } from './models/emotion-registry';
import { ModelCache } from './models/model-cache';
import { ModelRegistry } from './models/model-registry';
import { SileroVad } from './models/silero-vad';
import { type LoadedWhisper, loadWhisper, transcriberSettings } from './models/whisper-loader';
import type { WorkerReply, WorkerRequest, WorkerSettings, WorkerStreamMessage } from '../contract/engine-protocol';

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
    const loaded = await loadWhisper(name, installed.dir, settings.runtime, await vadReady, transcriberSettings(name, settings.stt));
    return { value: loaded, sizeBytes: loaded.model.sizeBytes };
  },
});

const transcribers: TranscriberProvider = {
  withTranscriber: (model, fn) => cache.use(model, (loaded) => fn(loaded.transcriber)),
};
// Loaded on the first diarization request; a failed load is retried by the next one.
let diarizerReady: Promise<Diarizer> | null = null;
const diarizers: DiarizerProvider = {
  diarizer: () => {
    const fallback = (reason: string) => process.emitWarning(`diarization uses the MFCC features: ${reason}`);
    diarizerReady ??= loadDiarizer(new DiarizationRegistry(settings.modelsDir), settings.runtime, settings.diarization, fallback).catch((err) => {
      diarizerReady = null;
      throw err;
    });
    return diarizerReady;
  },
  vad: () => vadReady,
};
const emotionRegistry = new EmotionRegistry(settings.modelsDir);
const emotionCache = new ModelCache<EmotionModel>({
  ...settings.cache,
  load: async (name) => {
    const installed = emotionRegistry.find(name);
    if (!installed) throw new EarshotError('model_not_found', `emotion model "${name}" is not installed`);
    const model = await loadEmotionModel(installed, settings.runtime, (encoder) => {
      const whisper = registry.find(encoder);
      if (!whisper) throw new EarshotError('model_not_found', `emotion model "${name}" needs speech-to-text model "${encoder}", which is not installed`);
      return whisper.dir;
    });
    return { value: model, sizeBytes: installed.bytes };
  },
});
const emotionModels: EmotionModelProvider = {
  withEmotionModel: (model, fn) => emotionCache.use(model, fn),
};

const pipeline = new AudioPipeline(transcribers, settings.limits, {
  diarizers,
  emotion: { models: emotionModels, analyzer: new EmotionAnalyzer(vadReady) },
});

/** Runs whose caller went away (disconnect, timeout): they stop at their next progress point. */
const cancelled = new Set<number>();

function reply(message: WorkerReply): void {
  port.postMessage(message);
}

const streams = vadReady.then(
  (vad) =>
    new StreamHub(
      vad,
      { decodeClips: (model, clips, languages, opts) => cache.use(model, (m) => m.transcriber.transcribeClips(clips, languages, opts)) },
      (streamId, message) => reply({ type: 'stream-event', streamId, message }),
      { speakerEmbedder: async () => (await diarizers.diarizer()).speakerEmbedder, withEmotionModel: emotionModels.withEmotionModel },
    ),
);

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
      case 'voices':
        reply({ id: msg.id, type: 'done', value: await pipeline.voices(msg.audioPaths) });
        break;
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
        reply({ id: msg.id, type: 'done', value: { cache: cache.stats(), loaded: [...cache.keys(), ...emotionCache.keys()] } });
        break;
      case 'stream-open': {
        const { model, language } = msg.options.transcribe;
        // Loads the model and checks the language now, so "ready" means the first decode can run.
        await cache.use(model, async (m) => void m.transcriber.resolveLanguage(language));
        await (await streams).open(msg.streamId, msg.options);
        reply({ id: msg.id, type: 'done', value: null });
        break;
      }
      case 'stream-stats':
        reply({ id: msg.id, type: 'done', value: { streams: (await streams).size } });
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

/** Stream messages keep their order: each waits on the same (settled) promise. */
function handleStream(msg: WorkerStreamMessage): void {
  void streams.then((hub) => {
    if (msg.type === 'stream-audio') hub.push(msg.streamId, msg.samples);
    else if (msg.type === 'stream-end') hub.end(msg.streamId);
    else hub.close(msg.streamId);
  });
}

port.on('message', (msg: WorkerRequest | WorkerStreamMessage) => {
  if ('id' in msg) void handle(msg);
  else handleStream(msg);
});
