import type { ErrorBody, JobStatus, ProcessRequest, ProcessResponse, QueueStats, WebhookDelivery } from '../../../../libs/contracts/process';
import { EarshotError } from '../../../contract/errors';

/** A job as the backends keep it: the wire fields plus what a runner needs. Times are epoch milliseconds. */
export interface StoredJob {
  id: string;
  status: JobStatus;
  progress: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  attempts: number;
  maxAttempts: number;
  request: ProcessRequest;
  /** The stored audio, under DATA_DIR. */
  audioPath: string;
  idempotencyKey: string | null;
  /** The API key that submitted the job: its enrolled speakers were pinned, and its audio budget is charged. */
  submittedBy: string | null;
  result?: ProcessResponse;
  error?: ErrorBody['error'];
  webhook?: WebhookDelivery;
}

/** Runs one job; resolves with the result or throws (an EarshotError other than `internal` fails the job for good). */
export type JobHandler = (job: StoredJob, reportProgress: (fraction: number) => void) => Promise<ProcessResponse>;

export interface JobListQuery {
  status?: JobStatus;
  limit: number;
  cursor?: string;
}

/**
 * Where jobs are kept and how they reach runners: the embedded SQLite backend or BullMQ on Redis. Delivery is
 * at-least-once: a run cut short by a crash is run again until `maxAttempts`, and only one run stores a result.
 */
export interface JobQueue {
  readonly backend: QueueStats['backend'];
  /** Adds a queued job; with an idempotency key already used, returns that job instead (`created: false`). */
  add(job: StoredJob): Promise<{ job: StoredJob; created: boolean }>;
  get(id: string): Promise<StoredJob | undefined>;
  findByIdempotencyKey(key: string): Promise<StoredJob | undefined>;
  /** Newest first. */
  list(query: JobListQuery): Promise<{ jobs: StoredJob[]; nextCursor: string | null }>;
  /** Removes the job; a run in progress finds it gone and its result is dropped. False when there was none. */
  remove(id: string): Promise<boolean>;
  /** failed → queued with a fresh attempt budget; throws job_conflict in any other state. */
  retry(id: string): Promise<StoredJob>;
  setWebhook(id: string, delivery: WebhookDelivery): Promise<void>;
  /** Completed and failed jobs that finished before the given time. */
  finishedBefore(time: number, limit: number): Promise<StoredJob[]>;
  stats(): Promise<QueueStats>;
  /** Starts `concurrency` runners; `onSettled` hears of every job that completed or failed for good. */
  startRunners(handler: JobHandler, concurrency: number, onSettled: (job: StoredJob) => void): Promise<void>;
  /** Stops taking jobs, lets running ones finish up to `graceMs`, puts the rest back in the queue, closes. */
  close(graceMs: number): Promise<void>;
}

/** A failure that another attempt cannot fix (bad audio, unknown model…), as opposed to a crash or a bug. */
export function isPermanentFailure(err: unknown): boolean {
  return err instanceof EarshotError && err.code !== 'internal';
}

export function failureBody(err: unknown): ErrorBody['error'] {
  return err instanceof EarshotError ? { code: err.code, message: err.message } : { code: 'internal', message: (err as Error)?.message ?? String(err) };
}
