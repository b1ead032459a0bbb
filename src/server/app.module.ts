import { type DynamicModule, Inject, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { FunasrController } from './api/compat/funasr/funasr.controller';
import { NlsGateway } from './api/compat/funasr/nls.gateway';
import { TasksController } from './api/compat/tasks/tasks.controller';
import { DashboardController } from './api/dashboard/dashboard.controller';
import { dashboardProviders } from './api/dashboard/dashboard.providers';
import { JobsController } from './api/jobs/jobs.controller';
import { jobProviders } from './api/jobs/jobs.providers';
import { LegacyController } from './api/legacy/legacy.controller';
import { OpenAIController } from './api/openai/openai.controller';
import { ProcessController } from './api/process/process.controller';
import { RenderController } from './api/process/render.controller';
import { streamStartParser } from './api/stream/stream-start';
import { StreamStatsController } from './api/stream/stream-stats.controller';
import { StreamSocketBinder } from './api/stream/socket-binding';
import { StreamGateway } from './api/stream/stream.gateway';
import { HardeningModule, INFERENCE_OBSERVER } from './api/security/hardening.module';
import { SpeakersController } from './api/speakers/speakers.controller';
import { speakerProviders } from './api/speakers/speakers.providers';
import { SystemController } from './api/system/system.controller';
import { ProcessService } from './core/process-service';
import { SpeakerService } from './core/speakers/speaker-service';
import { StreamService } from './core/stream/stream-service';
import { SystemService } from './core/system-service';
import { APP_CONFIG, type AppConfig } from './infra/config/app-config';
import { AdmissionQueue } from './infra/engine/admission-queue';
import { EngineModels } from './infra/engine/engine-models';
import { type StartEngine, startEngineWorker } from './infra/engine/engine-worker';
import { InferenceClient, type ProcessObserver } from './infra/engine/inference-client';
import { Metrics } from './infra/metrics/metrics';
import { DEFAULT_EMOTION_MODEL } from '../contract/engine-types';

/** How long the HTTP thread trusts the engine's list of installed models before asking again. */
const MODEL_LIST_TTL_MS = 5000;

/**
 * Learns the installed models before the first request, starts the warm-up without holding back start-up, and
 * stops the inference worker on shutdown.
 */
class InferenceLifecycle implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Inference');

  constructor(
    @Inject(SystemService) private readonly system: SystemService,
    @Inject(InferenceClient) private readonly client: InferenceClient,
    @Inject(EngineModels) private readonly models: EngineModels,
  ) {}

  async onModuleInit(): Promise<void> {
    try {
      await this.models.refresh();
    } catch (err) {
      // Requests ask again; until then every model reads as not installed.
      this.logger.error(`could not list the installed models: ${(err as Error).message}`);
    }
  }

  onApplicationBootstrap(): void {
    const started = Date.now();
    this.system.warmUp().then(
      () => this.logger.log(`default model ready in ${Date.now() - started} ms`),
      (err: Error) => this.logger.error(`default model failed to load: ${err.message}`),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close();
  }
}

@Module({})
export class AppModule {
  /** `startEngine`: the inference worker thread, or a fake engine in tests of the HTTP layer. */
  static forRoot(config: AppConfig, startEngine: StartEngine = startEngineWorker): DynamicModule {
    return {
      module: AppModule,
      imports: [HardeningModule.forRoot(config)],
      controllers: [
        ProcessController,
        RenderController,
        SystemController,
        JobsController,
        OpenAIController,
        LegacyController,
        StreamStatsController,
        DashboardController,
        SpeakersController,
        TasksController,
        FunasrController,
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        {
          provide: InferenceClient,
          inject: [AdmissionQueue, INFERENCE_OBSERVER, Metrics],
          useFactory: (admission: AdmissionQueue, observer: ProcessObserver, metrics: Metrics) => {
            const client = new InferenceClient(
              {
                modelsDir: config.engine.modelsDir,
                runtime: { device: config.engine.device, intraOpThreads: config.engine.intraOpThreads },
                cache: config.engine.modelCache,
                limits: { maxSeconds: config.engine.maxAudioSeconds, ffmpegTimeoutMs: config.engine.ffmpegTimeoutMs, ffmpegPath: config.engine.ffmpegPath },
                diarization: { stepS: config.engine.diarizationStepS },
                stt: config.engine.sttWindows,
                sttBatch: config.engine.sttBatch,
                concurrency: config.engine.admission.concurrency,
              },
              admission,
              observer,
              startEngine,
            );
            metrics.watchEngine(() => client.stats());
            return client;
          },
        },
        {
          provide: EngineModels,
          inject: [InferenceClient],
          useFactory: (client: InferenceClient) => new EngineModels(() => client.models(), MODEL_LIST_TTL_MS),
        },
        {
          provide: ProcessService,
          inject: [InferenceClient, EngineModels, SpeakerService],
          useFactory: (client: InferenceClient, models: EngineModels, speakers: SpeakerService) =>
            new ProcessService(
              client,
              { has: (name) => models.has('stt', name) },
              { sttModel: config.engine.defaultSttModel, batchSize: config.engine.sttBatchSize, emotionModel: DEFAULT_EMOTION_MODEL },
              { has: (name) => models.has('emotion', name) },
              speakers,
            ),
        },
        {
          provide: SystemService,
          inject: [InferenceClient, EngineModels],
          useFactory: (client: InferenceClient, models: EngineModels) =>
            new SystemService(models, client, { file: config.engine.defaultSttModel, stream: config.engine.defaultStreamModel }),
        },
        {
          provide: StreamService,
          inject: [InferenceClient, ProcessService],
          useFactory: (client: InferenceClient, process: ProcessService) =>
            new StreamService(client, streamStartParser(process, config.engine.sttBatchSize, config.engine.defaultStreamModel), config.server.streams),
        },
        StreamSocketBinder,
        StreamGateway,
        NlsGateway,
        InferenceLifecycle,
        ...jobProviders(config),
        ...speakerProviders(config),
        ...dashboardProviders(config),
      ],
    };
  }
}
