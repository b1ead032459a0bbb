import 'reflect-metadata';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { plainToInstance, Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNotEmpty, IsNumber, IsString, Matches, Max, Min, validateSync } from 'class-validator';
import { DEFAULT_MATCH_THRESHOLD } from '../../../../libs/diarization/voiceprint';
import { assignDevice } from '../device/gpu-assignment';
import { type JobsConfig, parseJobsConfig } from '../jobs/jobs-config';
import type { SttWindowSettings } from '../../../contract/engine-types';
import { type HardeningConfig, loadHardeningConfig, toBoolean } from './hardening-config';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** The environment as Earshot reads it; every variable optional, defaults below. */
class Environment {
  @Type(() => Number) @IsInt() @Min(0) @Max(65535)
  PORT = 8000;

  @IsString() @IsNotEmpty()
  HOST = '0.0.0.0';

  @IsString() @IsNotEmpty()
  MODELS_DIR = './models';

  /** Files (POST /v1/process, jobs, the OpenAI routes) when a request names no model. */
  @IsString() @IsNotEmpty()
  DEFAULT_STT_MODEL = 'whisper-small';

  /** Live streams (/v1/ws) when the first frame names no model. */
  @IsString() @IsNotEmpty()
  DEFAULT_STREAM_MODEL = 'whisper-tiny';

  /** Models that encode windows shorter than 30 s at their own length (plus STT_SHORT_WINDOW_PAD_S); "none": off. */
  @Matches(/^(none|[\w.-]+(,[\w.-]+)*)$/, { message: 'STT_SHORT_WINDOW_MODELS must be "none" or comma-separated model names' })
  STT_SHORT_WINDOW_MODELS = 'whisper-small';

  /** Silence encoded after a short window: less is faster; too little and Whisper repeats itself at the end. */
  @Type(() => Number) @IsNumber() @Min(0) @Max(30)
  STT_SHORT_WINDOW_PAD_S = 10;

  /** "cpu", "cuda:N", or "cuda" to take GPU (worker index mod GPU_COUNT) under PM2. */
  @Matches(/^(cpu|cuda|cuda:\d+)$/, { message: 'DEVICE must be "cpu", "cuda" or "cuda:N"' })
  DEVICE = 'cpu';

  @Type(() => Number) @IsInt() @Min(1) @Max(64)
  GPU_COUNT = 1;

  /** Physical GPU ids for DEVICE=cuda, e.g. "0,2"; overrides GPU_COUNT. */
  @Matches(/^(\d+(,\d+)*)?$/, { message: 'GPU_IDS must be a comma-separated list of GPU ids' })
  GPU_IDS = '';

  /** 0: onnxruntime picks (all cores). */
  @Type(() => Number) @IsInt() @Min(0) @Max(256)
  ORT_INTRA_OP_THREADS = 0;

  @Type(() => Number) @IsInt() @Min(1) @Max(10240)
  MAX_UPLOAD_MB = 200;

  @Type(() => Number) @IsInt() @Min(1) @Max(86400)
  MAX_AUDIO_SECONDS = 4 * 3600;

  @IsIn(LOG_LEVELS as unknown as string[], { message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL: LogLevelName = 'log';

  /** Decoder rows per batch (windows × beams): more is faster on many cores, costs memory. */
  @Type(() => Number) @IsInt() @Min(1) @Max(64)
  STT_BATCH_SIZE = 8;

  /** Hop between the 10 s windows of speaker segmentation: longer is faster, a little less accurate. */
  @Type(() => Number) @IsNumber() @Min(0.5) @Max(5)
  DIARIZATION_STEP_S = 2;

  /** Lowest cosine between a diarized speaker and an enrolled voiceprint that names it (see DEFAULT_MATCH_THRESHOLD). */
  @Type(() => Number) @IsNumber() @Min(-1) @Max(1)
  SPEAKER_MATCH_THRESHOLD = DEFAULT_MATCH_THRESHOLD;

  /** Least speech (seconds) an enrolment must hold. */
  @Type(() => Number) @IsNumber() @Min(0.5) @Max(60)
  SPEAKER_MIN_ENROL_S = 1;

  @Type(() => Number) @IsInt() @Min(1) @Max(64)
  MODEL_CACHE_MAX_ENTRIES = 3;

  @Type(() => Number) @IsInt() @Min(1)
  MODEL_CACHE_MAX_MB = 8192;

  /** 0 keeps loaded models until evicted. */
  @Type(() => Number) @IsInt() @Min(0)
  MODEL_CACHE_IDLE_TTL_S = 1800;

  @IsString() @IsNotEmpty()
  FFMPEG_PATH = 'ffmpeg';

  @Type(() => Number) @IsInt() @Min(1)
  FFMPEG_TIMEOUT_S = 600;

  /** Live streams on /v1/ws at once; more are refused with close code 1013. */
  @Type(() => Number) @IsInt() @Min(1) @Max(1024)
  WS_MAX_STREAMS = 8;

  /** Largest WebSocket frame. */
  @Type(() => Number) @IsInt() @Min(1024)
  WS_MAX_FRAME_BYTES = 1024 * 1024;

  /** Audio of one stream received but not yet processed; over it the stream is closed as overloaded. */
  @Type(() => Number) @IsInt() @Min(1) @Max(600)
  WS_MAX_BUFFERED_S = 20;

  /** A stream that sends nothing for this long is closed. */
  @Type(() => Number) @IsInt() @Min(1) @Max(3600)
  WS_IDLE_TIMEOUT_S = 30;

  /** Where uploads are spooled while they are processed. */
  @IsString() @IsNotEmpty()
  UPLOAD_DIR = join(tmpdir(), 'earshot-uploads');

  /** The playground at / and the dashboard at /dashboard. */
  @Transform(toBoolean) @IsBoolean()
  WEB_UI = true;

  /** How often the dashboard takes a sample; it keeps the last 15 minutes of them. */
  @Type(() => Number) @IsInt() @Min(1) @Max(60)
  DASHBOARD_SAMPLE_S = 5;
}

export interface AppConfig {
  port: number;
  host: string;
  modelsDir: string;
  defaultSttModel: string;
  defaultStreamModel: string;
  sttWindows: SttWindowSettings;
  device: string;
  /** How the device was chosen, for the start-up log. */
  deviceAssignment: string;
  intraOpThreads: number;
  maxUploadBytes: number;
  maxAudioSeconds: number;
  logLevel: LogLevelName;
  sttBatchSize: number;
  diarizationStepS: number;
  speakers: { matchThreshold: number; minSpeechS: number; dbPath: string; dataDir: string };
  modelCache: { maxEntries: number; maxBytes: number; idleTtlMs: number };
  ffmpegPath: string;
  ffmpegTimeoutMs: number;
  uploadDir: string;
  jobs: JobsConfig;
  stream: { maxStreams: number; maxFrameBytes: number; maxBufferedSeconds: number; idleTimeoutMs: number };
  hardening: HardeningConfig;
  web: { enabled: boolean; dashboardSampleMs: number };
}

/** Nest injection token for the config. */
export const APP_CONFIG = Symbol('APP_CONFIG');

export class ConfigError extends Error {}

/** PM2 numbers cluster workers (NODE_APP_INSTANCE): with DEVICE=cuda each takes its own GPU. */
function deviceOf(parsed: Environment, env: NodeJS.ProcessEnv): { device: string; deviceAssignment: string } {
  const { device, description } = assignDevice({
    device: parsed.DEVICE,
    gpuCount: parsed.GPU_COUNT,
    gpuIds: parsed.GPU_IDS,
    cudaVisibleDevices: env.CUDA_VISIBLE_DEVICES,
    instance: env.NODE_APP_INSTANCE ?? env.pm_id,
  });
  return { device, deviceAssignment: description };
}

/** Reads and validates the environment; throws ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const known = Object.keys(new Environment());
  const given = Object.fromEntries(known.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const parsed = plainToInstance(Environment, given);
  const errors = validateSync(parsed);
  const jobs = parseJobsConfig(env);
  const hardening = loadHardeningConfig(env);
  if (errors.length || jobs.problems.length || hardening.problems.length) {
    const lines = errors.map((e) => `  ${e.property}=${JSON.stringify(given[e.property])}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    lines.push(...jobs.problems, ...hardening.problems);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return {
    port: parsed.PORT,
    host: parsed.HOST,
    modelsDir: resolve(parsed.MODELS_DIR),
    defaultSttModel: parsed.DEFAULT_STT_MODEL,
    defaultStreamModel: parsed.DEFAULT_STREAM_MODEL,
    sttWindows: {
      shortWindowModels: parsed.STT_SHORT_WINDOW_MODELS === 'none' ? [] : parsed.STT_SHORT_WINDOW_MODELS.split(','),
      shortWindowPadS: parsed.STT_SHORT_WINDOW_PAD_S,
    },
    ...deviceOf(parsed, env),
    intraOpThreads: parsed.ORT_INTRA_OP_THREADS,
    maxUploadBytes: parsed.MAX_UPLOAD_MB * 1024 * 1024,
    maxAudioSeconds: parsed.MAX_AUDIO_SECONDS,
    logLevel: parsed.LOG_LEVEL,
    sttBatchSize: parsed.STT_BATCH_SIZE,
    diarizationStepS: parsed.DIARIZATION_STEP_S,
    speakers: {
      matchThreshold: parsed.SPEAKER_MATCH_THRESHOLD,
      minSpeechS: parsed.SPEAKER_MIN_ENROL_S,
      dbPath: join(jobs.config.dataDir, 'speakers.sqlite'),
      dataDir: jobs.config.dataDir,
    },
    modelCache: {
      maxEntries: parsed.MODEL_CACHE_MAX_ENTRIES,
      maxBytes: parsed.MODEL_CACHE_MAX_MB * 1024 * 1024,
      idleTtlMs: parsed.MODEL_CACHE_IDLE_TTL_S * 1000,
    },
    ffmpegPath: parsed.FFMPEG_PATH,
    ffmpegTimeoutMs: parsed.FFMPEG_TIMEOUT_S * 1000,
    uploadDir: resolve(parsed.UPLOAD_DIR),
    jobs: jobs.config,
    stream: {
      maxStreams: parsed.WS_MAX_STREAMS,
      maxFrameBytes: parsed.WS_MAX_FRAME_BYTES,
      maxBufferedSeconds: parsed.WS_MAX_BUFFERED_S,
      idleTimeoutMs: parsed.WS_IDLE_TIMEOUT_S * 1000,
    },
    hardening: hardening.config,
    web: { enabled: parsed.WEB_UI, dashboardSampleMs: parsed.DASHBOARD_SAMPLE_S * 1000 },
  };
}
