import type { StoredJob } from '../../src/server/core/jobs/job-queue';

/** A job as the service stores it on submission (queued, never run), for the job backends' own tests. */
export function queuedJob(id: string, extra: Partial<StoredJob> = {}): StoredJob {
  return {
    id,
    status: 'queued',
    progress: 0,
    createdAt: Date.now(),
    startedAt: null,
    finishedAt: null,
    attempts: 0,
    maxAttempts: 3,
    request: { settings: { tasks: ['transcribe'] } },
    audioPath: `/data/audio/${id}`,
    idempotencyKey: null,
    submittedBy: null,
    ...extra,
  };
}
