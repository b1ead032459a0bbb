import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { LoggerModule } from 'nestjs-pino';
import type { AppConfig } from '../../infra/config/app-config';
import { AdmissionQueue } from '../../infra/engine/admission-queue';
import type { ProcessObserver } from '../../infra/engine/inference-client';
import { Metrics } from '../../infra/metrics/metrics';
import { AudioUrlFetcher } from '../../infra/net/audio-url';
import { MetricsController } from '../metrics/metrics.controller';
import { ApiKeys } from './api-keys';
import { AudioBudget, MemoryAudioBudgetStore, RedisAudioBudgetStore } from './audio-budget';

/** Nest injection token: the ProcessObserver the InferenceClient reports finished runs to (metrics + audio budgets). */
export const INFERENCE_OBSERVER = Symbol('INFERENCE_OBSERVER');

/** Nest injection token: the Redis client that rate-limit counts and audio budgets share (null without REDIS_URL). */
export const LIMITS_REDIS = Symbol('LIMITS_REDIS');

/** Closes the limits' Redis connection with the app, so nothing keeps the process alive after it. */
class LimitsRedisCloser implements OnApplicationShutdown {
  constructor(@Inject(LIMITS_REDIS) private readonly redis: Redis | null) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis?.quit().catch(() => this.redis?.disconnect());
  }
}

const QUIET_PATHS = new Set(['/health', '/ready', '/metrics']);

const PINO_LEVEL = { fatal: 'fatal', error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' } as const;

/**
 * The services behind production hardening, global so any module can inject them: ApiKeys (for the WebSocket
 * upgrade), Metrics (to add metrics), AdmissionQueue (the inference queue), AudioBudget, AudioUrlFetcher.
 */
@Global()
@Module({})
export class HardeningModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: HardeningModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: PINO_LEVEL[config.server.logLevel],
            // Request lines carry method, path, status and timing: never bodies, audio, transcripts or keys.
            serializers: {
              req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
                id: req.id,
                method: req.method,
                url: req.url.split('?')[0],
                remoteAddress: req.remoteAddress,
              }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
            // Client errors are the client's: info. Probes poll /health, /ready and /metrics every few seconds: silent.
            customLogLevel: (req, res, err) => {
              if (QUIET_PATHS.has((req.url ?? '').split('?')[0])) return 'silent';
              return err || (res.statusCode >= 500 && res.statusCode !== 503) ? 'error' : res.statusCode === 503 ? 'warn' : 'info';
            },
            // pino-http makes up an Error with a stack for every 5xx; a 503 refusal is expected and needs none.
            customErrorObject: (_req, res, _err, value: Record<string, unknown>) => (res.statusCode === 503 ? { ...value, err: undefined } : value),
          },
        }),
      ],
      controllers: [MetricsController],
      providers: [
        { provide: ApiKeys, useFactory: () => new ApiKeys(config.security) },
        Metrics,
        {
          provide: AdmissionQueue,
          inject: [Metrics],
          useFactory: (metrics: Metrics) => new AdmissionQueue(config.engine.admission, metrics),
        },
        {
          provide: LIMITS_REDIS,
          useFactory: () => (config.redisUrl ? new Redis(config.redisUrl, { connectTimeout: 2000, maxRetriesPerRequest: 1 }) : null),
        },
        LimitsRedisCloser,
        {
          provide: AudioBudget,
          inject: [LIMITS_REDIS],
          useFactory: (redis: Redis | null) => new AudioBudget(redis ? new RedisAudioBudgetStore(redis) : new MemoryAudioBudgetStore()),
        },
        {
          provide: INFERENCE_OBSERVER,
          inject: [Metrics, AudioBudget],
          useFactory: (metrics: Metrics, budget: AudioBudget): ProcessObserver => ({
            processed(request, result, elapsedMs, { chargeTo }) {
              metrics.processed(request, result, elapsedMs);
              if (chargeTo !== undefined) void budget.charge(chargeTo, result.audio.duration_s).catch(() => undefined);
            },
          }),
        },
        {
          provide: AudioUrlFetcher,
          useFactory: () => new AudioUrlFetcher(config.security.audioUrls),
        },
      ],
      exports: [ApiKeys, Metrics, AdmissionQueue, AudioBudget, INFERENCE_OBSERVER, AudioUrlFetcher, LIMITS_REDIS],
    };
  }
}
