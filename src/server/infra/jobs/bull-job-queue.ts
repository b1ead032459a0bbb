import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import IORedis from 'ioredis';
import { Queue, UnrecoverableError, Worker, type Job as BullJob, type JobType } from 'bullmq';
import {
  JOB_STATUSES,
  type JobStatus,
  type ProcessRequest,
  type ProcessResponse,
  type QueueStats,
  type WebhookDelivery,
} from '../../../../libs/contracts/process';
import { EarshotError } from '../../../contract/errors';
import { failureBody, isPermanentFailure, type JobHandler, type JobListQuery, type JobQueue, type StoredJob } from '../../core/jobs/job-queue';

interface JobData {
  request: ProcessRequest;
  audioPath: string;
  idempotencyKey: string | null;
  /** Absent in jobs queued before jobs recorded their submitter. */
  submittedBy?: string | null;
  maxAttempts: number;
  createdAt: number;
  error?: StoredJob['error'];
  webhook?: WebhookDelivery;
}

type BullEarshotJob = BullJob<JobData, ProcessResponse>;

const QUEUE_NAME = 'earshot-jobs';
const KEY = {
  /** Every job id, scored by creation time: the unfiltered listing. */
  all: 'earshot:jobs',
  idempotency: (key: string) => `earshot:idempotency:${key}`,
  /** A running job that was deleted: its runner drops the result and removes it. */
  cancelled: (id: string) => `earshot:cancelled:${id}`,
};

const STATES_OF: Record<JobStatus, JobType[]> = {
  queued: ['waiting', 'prioritized', 'delayed'],
  processing: ['active'],
  completed: ['completed'],
  failed: ['failed'],
  cancelled: [],
};

function statusOf(state: string): JobStatus {
  return JOB_STATUSES.find((s) => STATES_OF[s].includes(state as JobType)) ?? 'queued';
}

/**
 * A dead worker's lock runs out after LOCK_MS; the stalled-job check then runs its jobs again. The worker renews
 * the lock every LOCK_MS / 2, so a loaded machine needs room here (BullMQ's default).
 */
const LOCK_MS = 30_000;
const STALLED_CHECK_MS = 10_000;

/**
 * The scale-out backend: jobs go through BullMQ on Redis, so API nodes and worker nodes may be different
 * processes or machines. Records stay in Redis after they finish, so any API node can answer for them. A worker
 * that dies leaves its jobs locked; BullMQ's stalled-job check puts them back once the lock has run out.
 */
export class BullJobQueue implements JobQueue {
  readonly backend = 'redis' as const;
  private readonly queue: Queue<JobData, ProcessResponse>;
  /** Earshot's own keys beside BullMQ's: creation-time index, idempotency keys, cancellations. */
  private readonly redis: IORedis;
  private worker?: Worker<JobData, ProcessResponse>;
  /** BullMQ leaves connections it was given open: ours to close. */
  private workerConnection?: IORedis;
  private readonly logger = new Logger('Jobs');

  constructor(
    private readonly redisUrl: string,
    private readonly maxAttempts: number,
  ) {
    this.redis = new IORedis(redisUrl, { maxRetriesPerRequest: null });
    this.queue = new Queue(QUEUE_NAME, { connection: this.redis });
  }

  async add(job: StoredJob): Promise<{ job: StoredJob; created: boolean }> {
    const redis = this.redis;
    if (job.idempotencyKey !== null) {
      const claimed = await redis.set(KEY.idempotency(job.idempotencyKey), job.id, 'NX');
      if (claimed === null) {
        const existing = await this.findByIdempotencyKey(job.idempotencyKey);
        if (existing) return { job: existing, created: false };
        await redis.set(KEY.idempotency(job.idempotencyKey), job.id);
      }
    }
    const data: JobData = {
      request: job.request,
      audioPath: job.audioPath,
      idempotencyKey: job.idempotencyKey,
      submittedBy: job.submittedBy,
      maxAttempts: job.maxAttempts,
      createdAt: job.createdAt,
    };
    const added = await this.queue.add('process', data, { jobId: job.id, attempts: job.maxAttempts, timestamp: job.createdAt });
    await redis.zadd(KEY.all, job.createdAt, job.id);
    return { job: await this.toStored(added, 'waiting'), created: true };
  }

  async get(id: string): Promise<StoredJob | undefined> {
    const redis = this.redis;
    if (await redis.exists(KEY.cancelled(id))) return undefined;
    const job = await this.queue.getJob(id);
    return job && this.toStored(job);
  }

  async findByIdempotencyKey(key: string): Promise<StoredJob | undefined> {
    const id = await this.redis.get(KEY.idempotency(key));
    return id === null ? undefined : this.get(id);
  }

  async list({ status, limit, cursor }: JobListQuery): Promise<{ jobs: StoredJob[]; nextCursor: string | null }> {
    const offset = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isSafeInteger(offset) || offset < 0) throw new EarshotError('invalid_request', `malformed cursor "${cursor}"`);
    let jobs: StoredJob[];
    if (status) {
      const found = (await this.queue.getJobs(STATES_OF[status], offset, offset + limit, false)) as BullEarshotJob[];
      jobs = await Promise.all(found.map((j) => this.toStored(j)));
    } else {
      const ids = await this.redis.zrevrange(KEY.all, offset, offset + limit);
      jobs = (await Promise.all(ids.map((id) => this.get(id)))).filter((j): j is StoredJob => j !== undefined);
    }
    const more = jobs.length > limit;
    return { jobs: jobs.slice(0, limit), nextCursor: more ? String(offset + limit) : null };
  }

  async remove(id: string): Promise<boolean> {
    const job = await this.queue.getJob(id);
    if (!job) return false;
    const redis = this.redis;
    await redis.zrem(KEY.all, id);
    if (job.data.idempotencyKey !== null) await redis.del(KEY.idempotency(job.data.idempotencyKey));
    if (await job.isActive()) {
      await redis.set(KEY.cancelled(id), '1', 'EX', 24 * 3600);
      return true;
    }
    await job.remove();
    return true;
  }

  async retry(id: string): Promise<StoredJob> {
    const job = await this.queue.getJob(id);
    if (!job || !(await job.isFailed())) throw new EarshotError('job_conflict', `job ${id} is not failed`);
    const { error: _dropped, webhook: _sent, ...data } = job.data;
    await job.updateData(data);
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    return (await this.get(id))!;
  }

  async setWebhook(id: string, delivery: WebhookDelivery): Promise<void> {
    const job = await this.queue.getJob(id);
    if (job) await job.updateData({ ...job.data, webhook: delivery });
  }

  async finishedBefore(time: number, limit: number): Promise<StoredJob[]> {
    const found = (await this.queue.getJobs(['completed', 'failed'], 0, -1, true)) as BullEarshotJob[];
    const expired = found.filter((j) => j.finishedOn !== undefined && j.finishedOn < time).slice(0, limit);
    return Promise.all(expired.map((j) => this.toStored(j)));
  }

  async stats(): Promise<QueueStats> {
    const counts = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
    const depth = Object.fromEntries(JOB_STATUSES.map((s) => [s, STATES_OF[s].reduce((n, state) => n + (counts[state] ?? 0), 0)])) as QueueStats['depth'];
    const [oldest] = (await this.queue.getJobs(['waiting', 'prioritized'], 0, 0, true)) as BullEarshotJob[];
    // Each worker process names its connections after itself; the queue's own connections carry no :w: part.
    const clients = (await this.queue.getWorkers()) as Array<{ rawname?: string }>;
    const workers = new Set(clients.map((c) => c.rawname).filter((n) => n?.includes(':w:'))).size;
    return {
      backend: this.backend,
      depth,
      workers,
      oldest_queued_age_s: oldest ? Math.round((Date.now() - oldest.timestamp) / 100) / 10 : null,
    };
  }

  async startRunners(handler: JobHandler, concurrency: number, onSettled: (job: StoredJob) => void): Promise<void> {
    this.workerConnection = new IORedis(this.redisUrl, { maxRetriesPerRequest: null });
    const worker = new Worker<JobData, ProcessResponse>(
      QUEUE_NAME,
      async (job) => {
        const stored = await this.toStored(job, 'active');
        try {
          return await handler(stored, (fraction) => void job.updateProgress(Math.min(1, fraction)).catch(() => undefined));
        } catch (err) {
          await job.updateData({ ...job.data, error: failureBody(err) }).catch(() => undefined);
          if (isPermanentFailure(err)) throw new UnrecoverableError((err as Error).message);
          throw err;
        }
      },
      {
        connection: this.workerConnection,
        name: `${hostname()}:${process.pid}`,
        concurrency,
        lockDuration: LOCK_MS,
        stalledInterval: STALLED_CHECK_MS,
        // A run cut short by a dead worker counts as an attempt: one fewer stall than attempts is allowed.
        maxStalledCount: this.maxAttempts - 1,
      },
    );
    const settle = async (job: BullEarshotJob | undefined) => {
      if (!job) return;
      const redis = this.redis;
      // The job goes before its cancelled mark, so that it never shows again between the two (GET → 404 throughout).
      if (await redis.exists(KEY.cancelled(job.id!))) {
        await job.remove().catch(() => undefined);
        await redis.del(KEY.cancelled(job.id!));
        return;
      }
      const stored = await this.get(job.id!);
      if (stored && (stored.status === 'completed' || stored.status === 'failed')) onSettled(stored);
    };
    // A run that ends while the service shuts down may find Redis closed: logged, not an unhandled rejection.
    const settleLogged = (job: BullEarshotJob | undefined) =>
      void settle(job).catch((err: Error) => this.logger.warn(`job ${job?.id}: could not settle: ${err.message}`));
    worker.on('error', (err) => this.logger.error(`job worker: ${err.message}`));
    worker.on('completed', settleLogged);
    worker.on('failed', settleLogged);
    await worker.waitUntilReady();
    this.worker = worker;
  }

  async close(graceMs: number): Promise<void> {
    if (this.worker) {
      const worker = this.worker;
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
      // Past the grace period the worker lets go of its jobs; their locks run out and the stalled check requeues them.
      if ((await Promise.race([worker.close(), timeout])) === 'timeout') await worker.close(true);
    }
    await this.queue.close();
    await this.workerConnection?.quit();
    await this.redis.quit();
  }

  private async toStored(read: BullEarshotJob, knownState?: string): Promise<StoredJob> {
    const state = knownState ?? (await read.getState());
    const status = statusOf(state);
    // The job's fields were read before its state: a run that ended in between left them without its result (a
    // clean-clone CI run polled a job "completed" with no result once). States only move on, so a second read has it.
    const job = (status === 'completed' || status === 'failed') && !read.finishedOn ? ((await this.queue.getJob(read.id!)) ?? read) : read;
    return {
      id: job.id!,
      status,
      progress: typeof job.progress === 'number' ? job.progress : 0,
      createdAt: job.data.createdAt,
      startedAt: job.processedOn ?? null,
      finishedAt: status === 'completed' || status === 'failed' ? (job.finishedOn ?? null) : null,
      attempts: job.attemptsStarted,
      maxAttempts: job.data.maxAttempts,
      request: job.data.request,
      audioPath: job.data.audioPath,
      idempotencyKey: job.data.idempotencyKey,
      submittedBy: job.data.submittedBy ?? null,
      ...(status === 'completed' && job.returnvalue ? { result: job.returnvalue } : {}),
      ...(status === 'failed' ? { error: job.data.error ?? { code: 'internal', message: job.failedReason } } : {}),
      ...(job.data.webhook ? { webhook: job.data.webhook } : {}),
    };
  }
}
