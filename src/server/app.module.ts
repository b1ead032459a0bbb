import { type DynamicModule, Inject, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
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
import { currentRequestContext } from './infra/context/request-context';
import { AdmissionQueue } from './infra/engine/admission-queue';
import { InferenceClient, type ProcessObserver } from './infra/engine/inference-client';
import { Metrics } from './infra/metrics/metrics';
import { DiarizationRegistry } from '../engine/models/diarization-models';
import { DEFAULT_EMOTION_MODEL, EmotionRegistry } from '../engine/models/emotion-registry';
import { ModelRegistry } from '../engine/models/model-registry';

/** Starts the warm-up without holding back start-up, and stops the inference worker on shutdown. */
class InferenceLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Inference');

  constructor(
    @Inject(SystemService) private readonly system: SystemService,
    @Inject(InferenceClient) private readonly client: InferenceClient,
  ) {}

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
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [HardeningModule.forRoot(config)],
      controllers: [ProcessController, RenderController, SystemController, JobsController, OpenAIController, LegacyController, StreamStatsController, DashboardController, SpeakersController, TasksController, FunasrController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: ModelRegistry, useFactory: () => new ModelRegistry(config.modelsDir) },
        { provide: EmotionRegistry, useFactory: () => new EmotionRegistry(config.modelsDir) },
        {
          provide: InferenceClient,
          inject: [AdmissionQueue, INFERENCE_OBSERVER, Metrics],
          useFactory: (admission: AdmissionQueue, observer: ProcessObserver, metrics: Metrics) => {
            const client = new InferenceClient(
              {
                modelsDir: config.modelsDir,
                runtime: { device: config.device, intraOpThreads: config.intraOpThreads },
                cache: config.modelCache,
                limits: { maxSeconds: config.maxAudioSeconds, ffmpegTimeoutMs: config.ffmpegTimeoutMs, ffmpegPath: config.ffmpegPath },
                diarization: { stepS: config.diarizationStepS },
                stt: config.sttWindows,
              },
              admission,
              observer,
            );
            metrics.watchModelCache(async () => (await client.stats()).cache);
            return client;
          },
        },
        {
          provide: ProcessService,
          inject: [InferenceClient, ModelRegistry, EmotionRegistry, SpeakerService],
          useFactory: (client: InferenceClient, registry: ModelRegistry, emotion: EmotionRegistry, speakers: SpeakerService) =>
            new ProcessService(
              client,
              { has: (name) => registry.find(name) !== undefined },
              { sttModel: config.defaultSttModel, batchSize: config.sttBatchSize, emotionModel: DEFAULT_EMOTION_MODEL },
              { has: (name) => emotion.find(name) !== undefined },
              { directory: speakers, currentTenant: () => currentRequestContext()?.principal.id },
            ),
        },
        {
          provide: SystemService,
          inject: [InferenceClient, ModelRegistry, EmotionRegistry],
          useFactory: (client: InferenceClient, registry: ModelRegistry, emotion: EmotionRegistry) => {
            const diarization = new DiarizationRegistry(config.modelsDir);
            const speakerModels = () => diarization.list().map(({ name, kind, source, bytes }) => ({ name, kind, source, bytes }));
            return new SystemService({ list: () => [...registry.list(), ...emotion.list(), ...speakerModels()] }, client, {
              file: config.defaultSttModel,
              stream: config.defaultStreamModel,
            });
          },
        },
        {
          provide: StreamService,
          inject: [InferenceClient, ProcessService],
          useFactory: (client: InferenceClient, process: ProcessService) =>
            new StreamService(client, streamStartParser(process, config.sttBatchSize, config.defaultStreamModel), config.stream),
        },
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
