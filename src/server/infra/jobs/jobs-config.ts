import { join, resolve } from 'node:path';
import { plainToInstance, Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsString, Max, Min, validateSync } from 'class-validator';

export const ROLES = ['all', 'api', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/** Environment variables of background jobs, webhooks and the scale-out roles. */
class JobsEnvironment {
  /** Job database and stored job audio. */
  @IsString()
  DATA_DIR = './data';

  /** Jobs one process runs at once. */
  @Type(() => Number) @IsInt() @Min(1) @Max(64)
  JOB_CONCURRENCY = 1;

  /** Runs a job may take (a crash mid-run counts) before it fails for good. */
  @Type(() => Number) @IsInt() @Min(1) @Max(100)
  JOB_MAX_ATTEMPTS = 3;

  @Type(() => Number) @IsNumber() @Min(0.001)
  JOB_TTL_HOURS = 24;

  @Type(() => Number) @IsInt() @Min(1)
  JOB_CLEANUP_INTERVAL_S = 300;

  @IsString()
  WEBHOOK_SECRET = '';

  @Transform(({ value }) => value === true || value === 'true' || value === '1') @IsBoolean()
  WEBHOOK_ALLOW_PRIVATE = false;

  @Type(() => Number) @IsInt() @Min(1) @Max(20)
  WEBHOOK_MAX_ATTEMPTS = 5;

  @Type(() => Number) @IsInt() @Min(1)
  WEBHOOK_BACKOFF_MS = 1000;

  @Type(() => Number) @IsInt() @Min(1)
  WEBHOOK_TIMEOUT_S = 10;

  /** Set: jobs go through BullMQ on this Redis. */
  @IsString()
  REDIS_URL = '';

  /** api: HTTP only, jobs are run elsewhere; worker: runs jobs, no HTTP; all: both. api and worker need REDIS_URL. */
  @IsIn(ROLES as unknown as string[], { message: `ROLE must be one of ${ROLES.join(', ')}` })
  ROLE: Role = 'all';

  /** How long SIGTERM waits for running jobs before putting them back in the queue. */
  @Type(() => Number) @IsInt() @Min(0)
  SHUTDOWN_TIMEOUT_S = 30;
}

export interface JobsConfig {
  dataDir: string;
  dbPath: string;
  concurrency: number;
  maxAttempts: number;
  ttlMs: number;
  cleanupIntervalMs: number;
  webhook: { secret: string; allowPrivate: boolean; maxAttempts: number; backoffMs: number; timeoutMs: number };
  redisUrl: string | null;
  role: Role;
  shutdownTimeoutMs: number;
}

/** Parses the job variables; returns the problems as "NAME=value: why" lines rather than throwing. */
export function parseJobsConfig(env: NodeJS.ProcessEnv): { config: JobsConfig; problems: string[] } {
  const known = Object.keys(new JobsEnvironment());
  const given = Object.fromEntries(known.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const parsed = plainToInstance(JobsEnvironment, given);
  const problems = validateSync(parsed).map(
    (e) => `  ${e.property}=${JSON.stringify(given[e.property])}: ${Object.values(e.constraints ?? {}).join('; ')}`,
  );
  if (parsed.ROLE !== 'all' && !parsed.REDIS_URL) {
    problems.push(`  ROLE=${JSON.stringify(parsed.ROLE)}: api and worker roles share jobs through Redis; set REDIS_URL`);
  }
  const dataDir = resolve(parsed.DATA_DIR);
  return {
    problems,
    config: {
      dataDir,
      dbPath: join(dataDir, 'jobs.sqlite'),
      concurrency: parsed.JOB_CONCURRENCY,
      maxAttempts: parsed.JOB_MAX_ATTEMPTS,
      ttlMs: parsed.JOB_TTL_HOURS * 3600_000,
      cleanupIntervalMs: parsed.JOB_CLEANUP_INTERVAL_S * 1000,
      webhook: {
        secret: parsed.WEBHOOK_SECRET,
        allowPrivate: parsed.WEBHOOK_ALLOW_PRIVATE,
        maxAttempts: parsed.WEBHOOK_MAX_ATTEMPTS,
        backoffMs: parsed.WEBHOOK_BACKOFF_MS,
        timeoutMs: parsed.WEBHOOK_TIMEOUT_S * 1000,
      },
      redisUrl: parsed.REDIS_URL || null,
      role: parsed.ROLE,
      shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_S * 1000,
    },
  };
}
