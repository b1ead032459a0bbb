import { Inject, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { SpeakerStore } from '../../core/speakers/speaker-store';
import { SpeakerService } from '../../core/speakers/speaker-service';
import type { AppConfig } from '../../infra/config/app-config';
import { InferenceClient } from '../../infra/engine/inference-client';
import { RedisSpeakerStore } from '../../infra/speakers/redis-speaker-store';
import { FileSpeakerAudioStore } from '../../infra/speakers/speaker-audio-store';
import { SqliteSpeakerStore } from '../../infra/speakers/sqlite-speaker-store';

const SPEAKER_STORE = Symbol('SPEAKER_STORE');

class SpeakerStoreLifecycle implements OnApplicationShutdown {
  constructor(@Inject(SPEAKER_STORE) private readonly store: SpeakerStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/** The voiceprint store beside the jobs (Redis with REDIS_URL, else SQLite in DATA_DIR) and the SpeakerService over it. */
export function speakerProviders(config: AppConfig): Provider[] {
  return [
    {
      provide: SPEAKER_STORE,
      useFactory: (): SpeakerStore => (config.redisUrl ? new RedisSpeakerStore(config.redisUrl) : new SqliteSpeakerStore(config.server.speakers.dbPath)),
    },
    {
      provide: SpeakerService,
      inject: [SPEAKER_STORE, InferenceClient],
      useFactory: (store: SpeakerStore, client: InferenceClient) =>
        new SpeakerService(store, client, new FileSpeakerAudioStore(config.server.speakers.dataDir), config.server.speakers),
    },
    SpeakerStoreLifecycle,
  ];
}
