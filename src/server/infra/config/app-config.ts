import 'reflect-metadata';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { plainToInstance, Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsNumber, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { DEFAULT_MATCH_THRESHOLD } from '../../../../libs/diarization/voiceprint';
import { assignDevice } from '../device/gpu-assignment';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export const ROLES = ['all', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const BOOLEAN_WORDS = new Map([
  ['1', true],
  ['true', true],
  ['yes', true],
  ['on', true],
  ['0', false],
  ['false', false],
  ['no', false],
  ['off', false],
]);

/** The one reading of a boolean variable: 1/0, true/false, yes/no, on/off in any case; anything else is left as it is, for @IsBoolean to refuse. */
const toBoolean = ({ value }: { value: unknown }) => (typeof value === 'string' ? (BOOLEAN_WORDS.get(value.trim().toLowerCase()) ?? value) : value);
const IS_BOOLEAN = { message: '$property must be 1/0, true/false, yes/no or on/off' };

/**
 * The environment as Earshot reads it, every variable optional with its default here, in the groups of AppConfig.
 * Read once at start-up by loadConfig; nothing else in src/ reads process.env.
 */
class Environment {
  // Shared: the job backend, the speaker store and the limits' counters all use it.

  /** Set: jobs go through BullMQ, voiceprints and rate-limit counts live in this Redis. */
  @IsOptional()
  @IsString()
  REDIS_URL?: string;

  // server: the HTTP thread.

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 8000;

  @IsString()
  @IsNotEmpty()
  HOST = '0.0.0.0';

  @IsIn(LOG_LEVELS, { message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevelName = 'log';

  /** Where uploads are spooled while they are processed. */
  @IsString()
  @IsNotEmpty()
  UPLOAD_DIR = join(tmpdir(), 'earshot-uploads');

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10240)
  MAX_UPLOAD_MB = 200;

  /** An upload that sends nothing for this long is cut off. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  UPLOAD_IDLE_TIMEOUT_S = 30;

  /** Longest time for one request, upload and processing; its work is cancelled after it. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  REQUEST_TIMEOUT_S = 900;

  /** Live streams on /v1/ws at once; more are refused with close code 1013. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1024)
  WS_MAX_STREAMS = 8;

  /** Largest WebSocket frame. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  WS_MAX_FRAME_BYTES = 1024 * 1024;

  /** Audio of one stream received but not yet processed; over it the stream is closed as overloaded. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(600)
  WS_MAX_BUFFERED_S = 20;

  /** A stream that sends nothing for this long is closed. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3600)
  WS_IDLE_TIMEOUT_S = 30;

  /** Lowest cosine between a diarized speaker and an enrolled voiceprint that names it (see DEFAULT_MATCH_THRESHOLD). */
  @Type(() => Number)
  @IsNumber()
  @Min(-1)
  @Max(1)
  SPEAKER_MATCH_THRESHOLD = DEFAULT_MATCH_THRESHOLD;

  /** Least speech (seconds) an enrolment must hold. */
  @Type(() => Number)
  @IsNumber()
  @Min(0.5)
  @Max(60)
  SPEAKER_MIN_ENROL_S = 1;

  // engine: the inference worker, and the admission of work to it.

  /** "cpu", "cuda:N", or "cuda" to take GPU (worker index mod GPU_COUNT) under PM2. */
  @Matches(/^(cpu|cuda|cuda:\d+)$/, { message: 'DEVICE must be "cpu", "cuda" or "cuda:N"' })
  DEVICE = 'cpu';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  GPU_COUNT = 1;

  /** Physical GPU ids for DEVICE=cuda, e.g. "0,2"; overrides GPU_COUNT. */
  @Matches(/^(\d+(,\d+)*)?$/, { message: 'GPU_IDS must be a comma-separated list of GPU ids' })
  GPU_IDS = '';

  /** 0: onnxruntime picks (all cores). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(256)
  ORT_INTRA_OP_THREADS = 0;

  @IsString()
  @IsNotEmpty()
  MODELS_DIR = './models';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  MODEL_CACHE_MAX_ENTRIES = 3;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  MODEL_CACHE_MAX_MB = 8192;

  /** 0 keeps loaded models until evicted. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  MODEL_CACHE_IDLE_TTL_S = 1800;

  /** Files (POST /v1/process, jobs, the OpenAI routes) when a request names no model. */
  @IsString()
  @IsNotEmpty()
  DEFAULT_STT_MODEL = 'whisper-small';

  /** Live streams (/v1/ws) when the first frame names no model. */
  @IsString()
  @IsNotEmpty()
  DEFAULT_STREAM_MODEL = 'whisper-tiny';

  /** Models that encode windows shorter than 30 s at their own length (plus STT_SHORT_WINDOW_PAD_S); "none": off. */
  @Matches(/^(none|[\w.-]+(,[\w.-]+)*)$/, { message: 'STT_SHORT_WINDOW_MODELS must be "none" or comma-separated model names' })
  STT_SHORT_WINDOW_MODELS = 'whisper-small';

  /** Silence encoded after a short window: less is faster; too little and Whisper repeats itself at the end. */
  @Type(() => Number)
  @IsNumber()
  @Min(0)
  @Max(30)
  STT_SHORT_WINDOW_PAD_S = 10;

  /** Decoder rows per batch (windows × beams): more is faster on many cores, costs memory. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  STT_BATCH_SIZE = 8;

  /** How long a short request (one window) that finds no batch forming waits for others to share it; 0: only those already waiting. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(1000)
  STT_BATCH_WAIT_MS = 20;

  /**
   * Most short requests decoded as one batch (their windows × beams at most STT_BATCH_SIZE rows); 1: no batching.
   * Off by default: it pays for models with 30 s windows, not for whisper-small's short ones (README, Models).
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  STT_BATCH_MAX_REQUESTS = 1;

  /** Hop between the 10 s windows of speaker segmentation: longer is faster, a little less accurate. */
  @Type(() => Number)
  @IsNumber()
  @Min(0.5)
  @Max(5)
  DIARIZATION_STEP_S = 2;

  @IsString()
  @IsNotEmpty()
  FFMPEG_PATH = 'ffmpeg';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  FFMPEG_TIMEOUT_S = 600;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(86400)
  MAX_AUDIO_SECONDS = 4 * 3600;

  /** Pipeline runs at once in the inference worker. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  INFERENCE_CONCURRENCY = 2;

  /** Requests waiting for an inference slot; more are refused with 503. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  MAX_QUEUE_LENGTH = 32;

  /** A request whose estimated wait is longer is refused with 503. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_QUEUE_WAIT_MS = 120_000;

  /** Above this resident memory new synchronous work is refused with 503; 0 = off. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  MAX_RSS_MB = 0;

  // jobs: background jobs, their webhooks and the scale-out roles.

  /** Job database, stored job audio and the SQLite speaker store. */
  @IsString()
  DATA_DIR = './data';

  /** Jobs one process runs at once. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  JOB_CONCURRENCY = 1;

  /** Runs a job may take (a crash mid-run counts) before it fails for good. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  JOB_MAX_ATTEMPTS = 3;

  @Type(() => Number)
  @IsNumber()
  @Min(0.001)
  JOB_TTL_HOURS = 24;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  JOB_CLEANUP_INTERVAL_S = 300;

  @IsString()
  WEBHOOK_SECRET = '';

  @Transform(toBoolean)
  @IsBoolean(IS_BOOLEAN)
  WEBHOOK_ALLOW_PRIVATE = false;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(20)
  WEBHOOK_MAX_ATTEMPTS = 5;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  WEBHOOK_BACKOFF_MS = 1000;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  WEBHOOK_TIMEOUT_S = 10;

  /** api: HTTP only, jobs are run elsewhere; worker: runs jobs, no HTTP; all: both. api and worker need REDIS_URL. */
  @IsIn(ROLES, { message: `ROLE must be one of ${ROLES.join(', ')}` })
  ROLE: Role = 'all';

  /** How long SIGTERM waits for running jobs before putting them back in the queue. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  SHUTDOWN_TIMEOUT_S = 30;

  // security: who may call, how much, and which addresses the service fetches from.

  /** Comma-separated keys with every scope and the default rates. */
  @IsOptional()
  @IsString()
  API_KEYS?: string;

  /** JSON file: [{ "name", "key" | "sha256", "scopes"?, "requests_per_min"?, "audio_seconds_per_hour"? }]. */
  @IsOptional()
  @IsString()
  API_KEYS_FILE?: string;

  /** Per key (per client address when no keys are configured); 0 = off. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_MIN = 120;

  /** Audio seconds a key may have processed per hour; 0 = off. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  AUDIO_SECONDS_PER_HOUR = 0;

  @Transform(toBoolean)
  @IsBoolean(IS_BOOLEAN)
  METRICS_PUBLIC = false;

  @Transform(toBoolean)
  @IsBoolean(IS_BOOLEAN)
  DOCS_PUBLIC = true;

  /** "" = no CORS headers, "*" = any origin, or a comma-separated list of origins. */
  @IsString()
  CORS_ORIGINS = '';

  @Transform(toBoolean)
  @IsBoolean(IS_BOOLEAN)
  ALLOW_PRIVATE_URLS = false;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  AUDIO_URL_TIMEOUT_S = 60;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10)
  AUDIO_URL_MAX_REDIRECTS = 3;

  // web: the browser UI.

  /** The playground at / and the dashboard at /dashboard. */
  @Transform(toBoolean)
  @IsBoolean(IS_BOOLEAN)
  WEB_UI = true;

  /** How often the dashboard takes a sample; it keeps the last 15 minutes of them. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(60)
  DASHBOARD_SAMPLE_S = 5;
}

/** Everything Earshot is configured with, by the part of the service that uses it; durations in ms, sizes in bytes. */
export interface AppConfig {
  /** REDIS_URL, or null: SQLite jobs and voiceprints, per-process limit counts. */
  redisUrl: string | null;
  server: {
    port: number;
    host: string;
    logLevel: LogLevelName;
    uploadDir: string;
    maxUploadBytes: number;
    uploadIdleTimeoutMs: number;
    requestTimeoutMs: number;
    streams: { maxStreams: number; maxFrameBytes: number; maxBufferedSeconds: number; idleTimeoutMs: number };
    speakers: { matchThreshold: number; minSpeechS: number; dbPath: string; dataDir: string };
  };
  engine: {
    device: string;
    /** How the device was chosen, for the start-up log. */
    deviceAssignment: string;
    intraOpThreads: number;
    modelsDir: string;
    modelCache: { maxEntries: number; maxBytes: number; idleTtlMs: number };
    defaultSttModel: string;
    defaultStreamModel: string;
    sttWindows: { shortWindowModels: string[]; shortWindowPadS: number };
    sttBatchSize: number;
    /** Short requests sharing decoder batches: how long one waits for others, how many at most (1: off). */
    sttBatch: { waitMs: number; maxRequests: number };
    diarizationStepS: number;
    ffmpegPath: string;
    ffmpegTimeoutMs: number;
    maxAudioSeconds: number;
    /**
     * How much work the worker is given: runs at once, the further short requests let in to share decoder batches,
     * and when a synchronous request is refused (503).
     */
    admission: { concurrency: number; batchSlots: number; maxQueueLength: number; maxQueueWaitMs: number; maxRssBytes: number };
  };
  jobs: {
    dataDir: string;
    dbPath: string;
    concurrency: number;
    maxAttempts: number;
    ttlMs: number;
    cleanupIntervalMs: number;
    webhook: { secret: string; allowPrivate: boolean; maxAttempts: number; backoffMs: number; timeoutMs: number };
    role: Role;
    shutdownTimeoutMs: number;
  };
  security: {
    apiKeys: string[];
    apiKeysFile: string | undefined;
    requestsPerMin: number;
    audioSecondsPerHour: number;
    metricsPublic: boolean;
    docsPublic: boolean;
    corsOrigins: string[] | '*' | null;
    audioUrls: { allowPrivate: boolean; timeoutMs: number; maxRedirects: number };
  };
  web: { enabled: boolean; dashboardSampleMs: number };
}

/** Nest injection token for the config. */
export const APP_CONFIG = Symbol('APP_CONFIG');

export class ConfigError extends Error {}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Reads and validates the environment; throws ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const known = Object.keys(new Environment()); // ES2022 class fields: the optional ones are own properties too
  const given = Object.fromEntries(known.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const e = plainToInstance(Environment, given);
  const problems = validateSync(e).map((err) => `  ${err.property}=${JSON.stringify(given[err.property])}: ${Object.values(err.constraints ?? {}).join('; ')}`);
  if (e.ROLE !== 'all' && !e.REDIS_URL) problems.push(`  ROLE=${JSON.stringify(e.ROLE)}: api and worker roles share jobs through Redis; set REDIS_URL`);
  if (problems.length) throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);

  // PM2 numbers cluster workers (NODE_APP_INSTANCE): with DEVICE=cuda each takes its own GPU.
  const device = assignDevice({
    device: e.DEVICE,
    gpuCount: e.GPU_COUNT,
    gpuIds: e.GPU_IDS,
    cudaVisibleDevices: env.CUDA_VISIBLE_DEVICES,
    instance: env.NODE_APP_INSTANCE ?? env.pm_id,
  });
  const dataDir = resolve(e.DATA_DIR);
  const cors = e.CORS_ORIGINS.trim();
  return {
    redisUrl: e.REDIS_URL ?? null,
    server: {
      port: e.PORT,
      host: e.HOST,
      logLevel: e.LOG_LEVEL,
      uploadDir: resolve(e.UPLOAD_DIR),
      maxUploadBytes: e.MAX_UPLOAD_MB * 1024 * 1024,
      uploadIdleTimeoutMs: e.UPLOAD_IDLE_TIMEOUT_S * 1000,
      requestTimeoutMs: e.REQUEST_TIMEOUT_S * 1000,
      streams: {
        maxStreams: e.WS_MAX_STREAMS,
        maxFrameBytes: e.WS_MAX_FRAME_BYTES,
        maxBufferedSeconds: e.WS_MAX_BUFFERED_S,
        idleTimeoutMs: e.WS_IDLE_TIMEOUT_S * 1000,
      },
      speakers: { matchThreshold: e.SPEAKER_MATCH_THRESHOLD, minSpeechS: e.SPEAKER_MIN_ENROL_S, dbPath: join(dataDir, 'speakers.sqlite'), dataDir },
    },
    engine: {
      device: device.device,
      deviceAssignment: device.description,
      intraOpThreads: e.ORT_INTRA_OP_THREADS,
      modelsDir: resolve(e.MODELS_DIR),
      modelCache: { maxEntries: e.MODEL_CACHE_MAX_ENTRIES, maxBytes: e.MODEL_CACHE_MAX_MB * 1024 * 1024, idleTtlMs: e.MODEL_CACHE_IDLE_TTL_S * 1000 },
      defaultSttModel: e.DEFAULT_STT_MODEL,
      defaultStreamModel: e.DEFAULT_STREAM_MODEL,
      sttWindows: {
        shortWindowModels: e.STT_SHORT_WINDOW_MODELS === 'none' ? [] : e.STT_SHORT_WINDOW_MODELS.split(','),
        shortWindowPadS: e.STT_SHORT_WINDOW_PAD_S,
      },
      sttBatchSize: e.STT_BATCH_SIZE,
      sttBatch: { waitMs: e.STT_BATCH_WAIT_MS, maxRequests: e.STT_BATCH_MAX_REQUESTS },
      diarizationStepS: e.DIARIZATION_STEP_S,
      ffmpegPath: e.FFMPEG_PATH,
      ffmpegTimeoutMs: e.FFMPEG_TIMEOUT_S * 1000,
      maxAudioSeconds: e.MAX_AUDIO_SECONDS,
      admission: {
        concurrency: e.INFERENCE_CONCURRENCY,
        batchSlots: e.STT_BATCH_MAX_REQUESTS > 1 ? e.STT_BATCH_MAX_REQUESTS : 0,
        maxQueueLength: e.MAX_QUEUE_LENGTH,
        maxQueueWaitMs: e.MAX_QUEUE_WAIT_MS,
        maxRssBytes: e.MAX_RSS_MB * 1024 * 1024,
      },
    },
    jobs: {
      dataDir,
      dbPath: join(dataDir, 'jobs.sqlite'),
      concurrency: e.JOB_CONCURRENCY,
      maxAttempts: e.JOB_MAX_ATTEMPTS,
      ttlMs: e.JOB_TTL_HOURS * 3600_000,
      cleanupIntervalMs: e.JOB_CLEANUP_INTERVAL_S * 1000,
      webhook: {
        secret: e.WEBHOOK_SECRET,
        allowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
        maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
        backoffMs: e.WEBHOOK_BACKOFF_MS,
        timeoutMs: e.WEBHOOK_TIMEOUT_S * 1000,
      },
      role: e.ROLE,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_S * 1000,
    },
    security: {
      apiKeys: list(e.API_KEYS ?? ''),
      apiKeysFile: e.API_KEYS_FILE,
      requestsPerMin: e.RATE_LIMIT_PER_MIN,
      audioSecondsPerHour: e.AUDIO_SECONDS_PER_HOUR,
      metricsPublic: e.METRICS_PUBLIC,
      docsPublic: e.DOCS_PUBLIC,
      corsOrigins: cors === '' ? null : cors === '*' ? '*' : list(cors),
      audioUrls: { allowPrivate: e.ALLOW_PRIVATE_URLS, timeoutMs: e.AUDIO_URL_TIMEOUT_S * 1000, maxRedirects: e.AUDIO_URL_MAX_REDIRECTS },
    },
    web: { enabled: e.WEB_UI, dashboardSampleMs: e.DASHBOARD_SAMPLE_S * 1000 },
  };
}
