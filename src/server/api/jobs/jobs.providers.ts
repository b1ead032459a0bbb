import { Inject, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type Provider } from '@nestjs/common';
import type { JobQueue } from '../../core/jobs/job-queue';
import { JobService } from '../../core/jobs/job-service';
import { ProcessService } from '../../core/process-service';
import type { AppConfig } from '../../infra/config/app-config';
import { BullJobQueue } from '../../infra/jobs/bull-job-queue';
import { FileJobAudioStore } from '../../infra/jobs/job-audio-store';
import { SqliteJobQueue } from '../../infra/jobs/sqlite-job-queue';
import { WebhookSender } from '../../infra/jobs/webhook-sender';
import { assertFetchableUrl } from '../../infra/net/public-address';
import { Metrics } from '../../infra/metrics/metrics';

export const JOB_QUEUE = Symbol('JOB_QUEUE');
const JOBS_CONFIG = Symbol('JOBS_CONFIG');

/** Starts the job runners (unless this node is API-only) and the retention sweep; drains them on shutdown. */
class JobsLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Jobs');
  private sweeper?: NodeJS.Timeout;

  constructor(
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(JobService) private readonly jobs: JobService,
    @Inject(JOBS_CONFIG) private readonly config: AppConfig['jobs'],
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.role !== 'api') {
      await this.queue.startRunners(this.jobs.run, this.config.concurrency, this.jobs.settled);
    }
    this.sweeper = setInterval(() => void this.sweep(), this.config.cleanupIntervalMs).unref();
    void this.sweep();
    this.logger.log(
      `${this.queue.backend} backend, role ${this.config.role}, ${this.config.role === 'api' ? 'no' : this.config.concurrency} runner(s), data in ${this.config.dataDir}`,
    );
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    clearInterval(this.sweeper);
    if (signal) this.logger.log(`${signal}: no new jobs; waiting up to ${this.config.shutdownTimeoutMs / 1000} s for running ones`);
    await this.queue.close(this.config.shutdownTimeoutMs);
  }

  private async sweep(): Promise<void> {
    try {
      const removed = await this.jobs.sweep();
      if (removed) this.logger.log(`removed ${removed} expired job(s) and their audio`);
    } catch (err) {
      this.logger.error(`job cleanup failed: ${(err as Error).message}`);
    }
  }
}

/** The job backend chosen by REDIS_URL, the JobService over it, and their lifecycle. */
export function jobProviders(config: AppConfig): Provider[] {
  const jobs = config.jobs;
  return [
    { provide: JOBS_CONFIG, useValue: jobs },
    {
      provide: JOB_QUEUE,
      useFactory: (): JobQueue => (config.redisUrl ? new BullJobQueue(config.redisUrl, jobs.maxAttempts) : new SqliteJobQueue(jobs.dbPath)),
    },
    {
      provide: JobService,
      inject: [JOB_QUEUE, ProcessService, Metrics],
      useFactory: (queue: JobQueue, processing: ProcessService, metrics: Metrics) => {
        const service = new JobService(
          queue,
          processing,
          new FileJobAudioStore(jobs.dataDir),
          async (url) => {
            await assertFetchableUrl(url, { allowPrivate: jobs.webhook.allowPrivate, what: 'callback_url' });
          },
          new WebhookSender(jobs.webhook),
          { maxAttempts: jobs.maxAttempts, ttlMs: jobs.ttlMs },
        );
        metrics.watchJobs(() => service.stats());
        return service;
      },
    },
    JobsLifecycle,
  ];
}
