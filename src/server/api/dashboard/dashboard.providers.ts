import { availableParallelism } from 'node:os';
import { Inject, type OnApplicationBootstrap, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { DashboardService, type DashboardSources } from '../../core/dashboard/dashboard-service';
import { JobService } from '../../core/jobs/job-service';
import type { AppConfig } from '../../infra/config/app-config';
import { AdmissionQueue } from '../../infra/engine/admission-queue';
import { InferenceClient } from '../../infra/engine/inference-client';
import { Metrics } from '../../infra/metrics/metrics';

/** Samples from start-up to shutdown. */
class DashboardLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(DashboardService) private readonly dashboard: DashboardService) {}

  onApplicationBootstrap(): void {
    this.dashboard.start();
  }

  onApplicationShutdown(): void {
    this.dashboard.stop();
  }
}

/** The DashboardService over the running service's figures, sampling every DASHBOARD_SAMPLE_S. */
export function dashboardProviders(config: AppConfig): Provider[] {
  return [
    {
      provide: DashboardService,
      inject: [JobService, InferenceClient, AdmissionQueue, Metrics],
      useFactory: (jobs: JobService, inference: InferenceClient, admission: AdmissionQueue, metrics: Metrics) => {
        const sources: DashboardSources = {
          jobDepth: async () => (await jobs.stats()).depth,
          runningJobs: async (limit) =>
            (await jobs.list({ status: 'processing', limit })).jobs.map((job) => ({ job_id: job.job_id, progress: job.progress, started_at: job.started_at })),
          inferenceQueue: () => admission.depth,
          modelCache: async () => (await inference.stats()).cache.entries.map((e) => ({ name: e.key, bytes: e.bytes, in_use: e.in_use })),
          activeStreams: async () => (await metrics.activeStreams.get()).values[0]?.value ?? 0,
          takeInterval: () => metrics.interval.take(),
          cpuUsage: () => process.cpuUsage(),
          memoryUsage: () => process.memoryUsage(),
          cores: availableParallelism(),
        };
        return new DashboardService(sources, { intervalMs: config.web.dashboardSampleMs });
      },
    },
    DashboardLifecycle,
  ];
}
