import type { EmitEvent } from '../../libs/rpc/rpc';
import type { EngineEvents, EngineHandlers } from '../contract/engine-contract';
import type { EngineSettings } from '../contract/engine-types';
import { EarshotError } from '../contract/errors';
import type { Diarizer } from './core/diarization/diarizer';
import { EmotionAnalyzer } from './core/emotion/emotion-analyzer';
import type { EmotionModel } from './core/emotion/emotion-model';
import { AudioPipeline, type DiarizerProvider, type EmotionModelProvider, type TranscriberProvider } from './core/pipeline';
import { RunGate } from './core/run-gate';
import type { WindowBatcherSettings } from './core/stt/window-batcher';
import { StreamHub } from './core/stream/stream-hub';
import { loadDiarizer } from './models/diarization-models';
import { loadEmotionModel } from './models/emotion-models';
import { ModelCache } from './models/model-cache';
import { ModelRegistry } from './models/model-registry';
import { SileroVad } from './models/silero-vad';
import { transcriberSettings, WhisperSpeechToText } from './models/whisper-loader';

/**
 * The inference engine: every model and the whole audio pipeline, behind the handlers of the engine contract.
 * Models load on first use; `emit` sends the live streams' messages to the HTTP thread.
 */
export function createEngine(settings: EngineSettings, emit: EmitEvent<EngineEvents>): EngineHandlers {
  const registry = new ModelRegistry(settings.modelsDir);

  // One CPU thread whatever DEVICE says: the VAD is tiny and recurrent, and costs mostly per call (see SileroVad).
  const vadReady = SileroVad.load({ modelPath: registry.chosen('vad')!.path, runtime: { device: 'cpu', intraOpThreads: 1 } });

  const sttBatches = { batches: 0, requests: 0 };
  const batching: WindowBatcherSettings | null =
    settings.sttBatch && settings.sttBatch.maxRequests > 1
      ? {
          waitMs: settings.sttBatch.waitMs,
          maxJobs: settings.sttBatch.maxRequests,
          onBatch: (requests) => {
            sttBatches.batches++;
            sttBatches.requests += requests;
          },
        }
      : null;

  const cache = new ModelCache<WhisperSpeechToText>({
    ...settings.cache,
    load: async (name) => {
      const installed = registry.find('stt', name);
      if (!installed) throw new EarshotError('model_not_found', `model "${name}" is not installed`);
      const loaded = await WhisperSpeechToText.load({
        name,
        dir: installed.dir,
        runtime: settings.runtime,
        vad: await vadReady,
        settings: transcriberSettings(name, settings.stt, batching),
      });
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
      diarizerReady ??= loadDiarizer({
        segmentation: registry.chosen('speaker-segmentation'),
        embedding: registry.chosen('speaker-embedding'),
        runtime: settings.runtime,
        tuning: settings.diarization,
        onFallback: fallback,
      }).catch((err) => {
        diarizerReady = null;
        throw err;
      });
      return diarizerReady;
    },
    vad: () => vadReady,
  };

  const emotionCache = new ModelCache<EmotionModel>({
    ...settings.cache,
    load: async (name) => {
      const installed = registry.find('emotion', name);
      if (!installed) throw new EarshotError('model_not_found', `emotion model "${name}" is not installed`);
      const model = await loadEmotionModel({
        model: installed,
        runtime: settings.runtime,
        whisperDir: (encoder) => {
          const whisper = registry.find('stt', encoder);
          if (!whisper) throw new EarshotError('model_not_found', `emotion model "${name}" needs speech-to-text model "${encoder}", which is not installed`);
          return whisper.dir;
        },
      });
      return { value: model, sizeBytes: installed.bytes };
    },
  });
  const emotionModels: EmotionModelProvider = {
    withEmotionModel: (model, fn) => emotionCache.use(model, fn),
  };

  const pipeline = new AudioPipeline(
    transcribers,
    settings.limits,
    {
      diarizers,
      emotion: { models: emotionModels, analyzer: new EmotionAnalyzer(vadReady) },
    },
    settings.concurrency ? new RunGate(settings.concurrency) : undefined,
  );

  const streams = vadReady.then(
    (vad) =>
      new StreamHub(
        vad,
        { decodeClips: (model, clips, languages, opts) => cache.use(model, (m) => m.transcriber.transcribeClips(clips, languages, opts)) },
        (streamId, message) => emit('streamEvent', { streamId, message }),
        {
          speakerEmbedder: async () => (await diarizers.diarizer()).speakerEmbedder,
          withEmotionModel: (model, fn) => emotionModels.withEmotionModel(model, fn),
        },
      ),
  );
  /** Stream signals keep their order: each waits on the same (settled) promise. */
  const withStreams = (fn: (hub: StreamHub) => void) => void streams.then(fn);

  return {
    process: ({ audioPath, request }, { progress, signal }) => pipeline.run(audioPath, request, progress, signal),

    voices: ({ audioPaths }) => pipeline.voices(audioPaths),

    warmup: async ({ model }) => {
      const second = new Float32Array(16000);
      await cache.use(model, (m) =>
        m.transcriber.transcribe(second, {
          language: 'en',
          task: 'transcribe',
          beamSize: 1,
          temperature: 0,
          wordTimestamps: false,
          initialPrompt: null,
          vadFilter: false,
          batchSize: 1,
        }),
      );
      return null;
    },

    stats: async () => ({ cache: cache.stats(), loaded: [...cache.keys(), ...emotionCache.keys()], sttBatches: { ...sttBatches } }),

    models: async () => registry.list().map(({ name, kind, source, bytes }) => ({ name, kind, source, bytes })),

    streamOpen: async ({ streamId, options }) => {
      const { model, language } = options.transcribe;
      // Loads the model and checks the language now, so "ready" means the first decode can run.
      await cache.use(model, async (m) => void m.transcriber.resolveLanguage(language));
      await (await streams).open(streamId, options);
      return null;
    },

    streamStats: async () => ({ streams: (await streams).size }),

    streamAudio: ({ streamId, samples }) => withStreams((hub) => hub.push(streamId, samples)),
    streamEnd: ({ streamId }) => withStreams((hub) => hub.end(streamId)),
    streamClose: ({ streamId }) => withStreams((hub) => hub.close(streamId)),
  };
}
