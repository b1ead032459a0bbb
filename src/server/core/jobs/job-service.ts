import { randomUUID } from 'node:crypto';
import type { Job, JobAccepted, JobList, JobStatus, ProcessRequest, ProcessResponse, QueueStats, WebhookDelivery } from '../../../../libs/contracts/process';
import { EarshotError } from '../../../contract/errors';
import type { PipelineRequest } from '../../../contract/engine-types';
import type { RunOptions } from '../process-service';
import type { JobQueue, StoredJob } from './job-queue';

/** The synchronous path that a job runs: the same validation and the same answer body. */
export interface JobProcessor {
  toPipelineRequest(request: ProcessRequest): PipelineRequest;
  /** The request with what depends on the caller resolved now (dia.speakers → the caller's speaker ids). */
  pinSpeakers(request: ProcessRequest, tenant: string): Promise<ProcessRequest>;
  process(audioPath: string, request: ProcessRequest, options: RunOptions): Promise<ProcessResponse>;
}

/** Keeps job audio in DATA_DIR. */
export interface JobAudioStore {
  /** Moves an uploaded temporary file into the store; returns its stored path. */
  adopt(tempPath: string, jobId: string): Promise<string>;
  remove(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
}

/** Throws invalid_request for a callback URL that may not be called (malformed, not http(s), private address). */
export type CallbackUrlCheck = (url: string) => Promise<void>;

/** POSTs the finished job to its callback URL, reporting each attempt. */
export interface WebhookNotifier {
  deliver(body: Job, url: string, onAttempt: (delivery: WebhookDelivery) => Promise<void>): Promise<WebhookDelivery>;
}

export interface JobSettings {
  maxAttempts: number;
  /** Finished jobs and their audio are removed this long after they finish. */
  ttlMs: number;
}

const LIST_LIMIT_MAX = 100;

export function toWireJob(job: StoredJob): Job {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    job_id: job.id,
    status: job.status,
    progress: job.progress,
    created_at: iso(job.createdAt)!,
    started_at: iso(job.startedAt),
    finished_at: iso(job.finishedAt),
    attempts: job.attempts,
    max_attempts: job.maxAttempts,
    ...(job.result ? { result: job.result } : {}),
    ...(job.error ? { error: job.error } : {}),
    ...(job.webhook ? { webhook: job.webhook } : {}),
  };
}

/** Background jobs without HTTP: submit, query, cancel, retry, run, notify, expire. */
export class JobService {
  /** Runs of this process, so that deleting a job stops its model run instead of letting it finish unseen. */
  private readonly runs = new Map<string, AbortController>();

  constructor(
    private readonly queue: JobQueue,
    private readonly processor: JobProcessor,
    private readonly audio: JobAudioStore,
    private readonly checkCallbackUrl: CallbackUrlCheck,
    private readonly webhooks: WebhookNotifier,
    private readonly settings: JobSettings,
  ) {}

  /**
   * Validates the request as the synchronous path would (so a bad one is refused now, not later), stores the
   * audio, and queues the job. The same idempotency key gives back the job it first created. `submittedBy` is the
   * calling API key: the job runs with its speakers and is charged to its audio budget, whoever runs it.
   */
  async submit(uploadPath: string, submitted: ProcessRequest, idempotencyKey: string | null, submittedBy: string): Promise<JobAccepted> {
    this.processor.toPipelineRequest(submitted);
    const request = await this.processor.pinSpeakers(submitted, submittedBy);
    if (request.callback_url) await this.checkCallbackUrl(request.callback_url);
    if (idempotencyKey !== null) {
      const existing = await this.queue.findByIdempotencyKey(idempotencyKey);
      if (existing) return { status: 'queued', job_id: existing.id };
    }
    const id = randomUUID();
    const audioPath = await this.audio.adopt(uploadPath, id);
    const { job, created } = await this.queue.add({
      id,
      status: 'queued',
      progress: 0,
      createdAt: Date.now(),
      startedAt: null,
      finishedAt: null,
      attempts: 0,
      maxAttempts: this.settings.maxAttempts,
      request: { ...request, async_process: true },
      audioPath,
      idempotencyKey,
      submittedBy,
    });
    if (!created) await this.audio.remove(audioPath);
    return { status: 'queued', job_id: job.id };
  }

  async get(id: string): Promise<Job> {
    return toWireJob(await this.stored(id));
  }

  async list(query: { status?: JobStatus; limit?: number; cursor?: string }): Promise<JobList> {
    const limit = Math.min(Math.max(query.limit ?? 20, 1), LIST_LIMIT_MAX);
    const page = await this.queue.list({ status: query.status, limit, cursor: query.cursor });
    return { jobs: page.jobs.map(toWireJob), next_cursor: page.nextCursor };
  }

  /** Cancels a queued or running job, then deletes it and its audio. */
  async delete(id: string): Promise<{ job_id: string; deleted: true; was: JobStatus }> {
    const job = await this.stored(id);
    await this.queue.remove(id);
    this.runs.get(id)?.abort(new EarshotError('invalid_request', `job ${id} was deleted`));
    await this.audio.remove(job.audioPath);
    return { job_id: id, deleted: true, was: job.status };
  }

  async retry(id: string): Promise<Job> {
    const job = await this.stored(id);
    if (job.status !== 'failed') throw new EarshotError('job_conflict', `job ${id} is ${job.status}; only failed jobs can be retried`);
    if (!(await this.audio.exists(job.audioPath))) throw new EarshotError('job_conflict', `the audio of job ${id} is gone`);
    return toWireJob(await this.queue.retry(id));
  }

  async audioPath(id: string): Promise<string> {
    const job = await this.stored(id);
    if (!(await this.audio.exists(job.audioPath))) throw new EarshotError('job_not_found', `the audio of job ${id} is gone`);
    return job.audioPath;
  }

  stats(): Promise<QueueStats> {
    return this.queue.stats();
  }

  /** What a runner does with a job: the synchronous pipeline, with its progress reported; it waits for a slot when busy. */
  readonly run = async (job: StoredJob, reportProgress: (fraction: number) => void): Promise<ProcessResponse> => {
    const controller = new AbortController();
    this.runs.set(job.id, controller);
    try {
      // dia.speakers was pinned to the submitter's speaker ids at submission, so no tenant is needed to resolve it.
      return await this.processor.process(job.audioPath, job.request, {
        onProgress: reportProgress,
        background: true,
        signal: controller.signal,
        chargeTo: job.submittedBy ?? undefined,
      });
    } finally {
      this.runs.delete(job.id);
    }
  };

  /** A job ended (completed, or failed for good): tell its callback URL. */
  readonly settled = (job: StoredJob): void => {
    const url = job.request.callback_url;
    if (!url) return;
    void this.notify(job, url);
  };

  /** Removes finished jobs older than the TTL with their audio; returns how many went. */
  async sweep(now = Date.now()): Promise<number> {
    let removed = 0;
    for (;;) {
      const expired = await this.queue.finishedBefore(now - this.settings.ttlMs, 100);
      if (!expired.length) return removed;
      for (const job of expired) {
        await this.queue.remove(job.id);
        await this.audio.remove(job.audioPath);
        removed++;
      }
    }
  }

  private async notify(job: StoredJob, url: string): Promise<void> {
    try {
      await this.checkCallbackUrl(url);
    } catch (err) {
      const refused: WebhookDelivery = { url, state: 'failed', attempts: 0, last_status: null, last_error: (err as Error).message, delivered_at: null };
      await this.queue.setWebhook(job.id, refused);
      return;
    }
    await this.webhooks.deliver(toWireJob(job), url, (delivery) => this.queue.setWebhook(job.id, delivery));
  }

  private async stored(id: string): Promise<StoredJob> {
    const job = await this.queue.get(id);
    if (!job) throw new EarshotError('job_not_found', `no job ${id}`);
    return job;
  }
}
