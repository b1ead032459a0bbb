import 'reflect-metadata';
import { plainToInstance, Transform, Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Max, Min, validateSync } from 'class-validator';

export const toBoolean = ({ value }: { value: unknown }) => (typeof value === 'string' ? ['1', 'true', 'yes'].includes(value.toLowerCase()) : value);

/** Access, limits, timeouts and audio URLs: the production-hardening settings, validated like the rest. */
class HardeningEnvironment {
  /** Comma-separated keys with every scope and the default rates. */
  @IsOptional() @IsString()
  API_KEYS?: string;

  /** JSON file: [{ "name", "key" | "sha256", "scopes"?, "requests_per_min"?, "audio_seconds_per_hour"? }]. */
  @IsOptional() @IsString()
  API_KEYS_FILE?: string;

  @Transform(toBoolean) @IsBoolean()
  METRICS_PUBLIC = false;

  @Transform(toBoolean) @IsBoolean()
  DOCS_PUBLIC = true;

  /** "" = no CORS headers, "*" = any origin, or a comma-separated list of origins. */
  @IsString()
  CORS_ORIGINS = '';

  /** Per key (per client address when no keys are configured); 0 = off. */
  @Type(() => Number) @IsInt() @Min(0)
  RATE_LIMIT_PER_MIN = 120;

  /** Audio seconds a key may have processed per hour; 0 = off. */
  @Type(() => Number) @IsInt() @Min(0)
  AUDIO_SECONDS_PER_HOUR = 0;

  /** Shares rate-limit counts between instances. */
  @IsOptional() @IsString()
  REDIS_URL?: string;

  /** Pipeline runs at once in the inference worker. */
  @Type(() => Number) @IsInt() @Min(1) @Max(64)
  INFERENCE_CONCURRENCY = 2;

  /** Requests waiting for an inference slot; more are refused with 503. */
  @Type(() => Number) @IsInt() @Min(0)
  MAX_QUEUE_LENGTH = 32;

  /** A request whose estimated wait is longer is refused with 503. */
  @Type(() => Number) @IsInt() @Min(1)
  MAX_QUEUE_WAIT_MS = 120_000;

  /** Above this resident memory new synchronous work is refused with 503; 0 = off. */
  @Type(() => Number) @IsInt() @Min(0)
  MAX_RSS_MB = 0;

  /** An upload that sends nothing for this long is cut off. */
  @Type(() => Number) @IsInt() @Min(1)
  UPLOAD_IDLE_TIMEOUT_S = 30;

  /** Longest time for one request, upload and processing; its work is cancelled after it. */
  @Type(() => Number) @IsInt() @Min(1)
  REQUEST_TIMEOUT_S = 900;

  @Transform(toBoolean) @IsBoolean()
  ALLOW_PRIVATE_URLS = false;

  @Type(() => Number) @IsInt() @Min(1)
  AUDIO_URL_TIMEOUT_S = 60;

  @Type(() => Number) @IsInt() @Min(0) @Max(10)
  AUDIO_URL_MAX_REDIRECTS = 3;
}

export interface HardeningConfig {
  apiKeys: string[];
  apiKeysFile: string | undefined;
  metricsPublic: boolean;
  docsPublic: boolean;
  corsOrigins: string[] | '*' | null;
  requestsPerMin: number;
  audioSecondsPerHour: number;
  redisUrl: string | undefined;
  inferenceConcurrency: number;
  maxQueueLength: number;
  maxQueueWaitMs: number;
  maxRssBytes: number;
  uploadIdleTimeoutMs: number;
  requestTimeoutMs: number;
  allowPrivateUrls: boolean;
  audioUrlTimeoutMs: number;
  audioUrlMaxRedirects: number;
}

/** Reads the hardening variables; returns the problems (variable=value: why) instead of throwing, for loadConfig to report. */
export function loadHardeningConfig(env: NodeJS.ProcessEnv): { config: HardeningConfig; problems: string[] } {
  const known = [...new Set([...Object.keys(new HardeningEnvironment()), 'API_KEYS', 'API_KEYS_FILE', 'REDIS_URL'])];
  const given = Object.fromEntries(known.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const parsed = plainToInstance(HardeningEnvironment, given);
  const problems = validateSync(parsed).map(
    (e) => `  ${e.property}=${JSON.stringify(given[e.property])}: ${Object.values(e.constraints ?? {}).join('; ')}`,
  );
  const cors = parsed.CORS_ORIGINS.trim();
  return {
    problems,
    config: {
      apiKeys: (parsed.API_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean),
      apiKeysFile: parsed.API_KEYS_FILE,
      metricsPublic: parsed.METRICS_PUBLIC,
      docsPublic: parsed.DOCS_PUBLIC,
      corsOrigins: cors === '' ? null : cors === '*' ? '*' : cors.split(',').map((o) => o.trim()).filter(Boolean),
      requestsPerMin: parsed.RATE_LIMIT_PER_MIN,
      audioSecondsPerHour: parsed.AUDIO_SECONDS_PER_HOUR,
      redisUrl: parsed.REDIS_URL,
      inferenceConcurrency: parsed.INFERENCE_CONCURRENCY,
      maxQueueLength: parsed.MAX_QUEUE_LENGTH,
      maxQueueWaitMs: parsed.MAX_QUEUE_WAIT_MS,
      maxRssBytes: parsed.MAX_RSS_MB * 1024 * 1024,
      uploadIdleTimeoutMs: parsed.UPLOAD_IDLE_TIMEOUT_S * 1000,
      requestTimeoutMs: parsed.REQUEST_TIMEOUT_S * 1000,
      allowPrivateUrls: parsed.ALLOW_PRIVATE_URLS,
      audioUrlTimeoutMs: parsed.AUDIO_URL_TIMEOUT_S * 1000,
      audioUrlMaxRedirects: parsed.AUDIO_URL_MAX_REDIRECTS,
    },
  };
}
