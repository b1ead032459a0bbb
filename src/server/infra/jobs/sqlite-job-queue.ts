import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { JOB_STATUSES, type JobStatus, type QueueStats, type WebhookDelivery } from '../../../../libs/contracts/process';
import { EarshotError } from '../../../contract/errors';
import { failureBody, isPermanentFailure, type JobHandler, type JobListQuery, type JobQueue, type StoredJob } from '../../core/jobs/job-queue';

interface JobRow {
  seq: number;
  id: string;
  status: JobStatus;
  progress: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  attempts: number;
  max_attempts: number;
  request: string;
  audio_path: string;
  idempotency_key: string | null;
  submitted_by: string | null;
  owner: string | null;
  result: string | null;
  error: string | null;
  webhook: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  progress REAL NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  request TEXT NOT NULL,
  audio_path TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  submitted_by TEXT,
  owner TEXT,
  result TEXT,
  error TEXT,
  webhook TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, seq);
CREATE INDEX IF NOT EXISTS jobs_by_finish ON jobs (finished_at) WHERE finished_at IS NOT NULL;
`;

/** How often runners look for work they were not woken for (jobs put back by a sibling process, retries). */
const POLL_MS = 1000;

function toJob(row: JobRow): StoredJob {
  return {
    id: row.id,
    status: row.status,
    progress: row.progress,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    request: JSON.parse(row.request) as StoredJob['request'],
    audioPath: row.audio_path,
    idempotencyKey: row.idempotency_key,
    submittedBy: row.submitted_by,
    ...(row.result ? { result: JSON.parse(row.result) as StoredJob['result'] } : {}),
    ...(row.error ? { error: JSON.parse(row.error) as StoredJob['error'] } : {}),
    ...(row.webhook ? { webhook: JSON.parse(row.webhook) as StoredJob['webhook'] } : {}),
  };
}

/** The pid in an owner tag "pid:boot". */
function ownerPid(owner: string): number {
  return Number(owner.split(':')[0]);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The embedded backend: jobs in a SQLite file (WAL), run by in-process runners. A running job carries its
 * owner's pid; when that process is gone (crash, kill -9), the job goes back to the queue, or fails once it has
 * used its attempts. Several processes on one host may share the file.
 */
export class SqliteJobQueue implements JobQueue {
  readonly backend = 'sqlite' as const;
  private readonly db: Database.Database;
  /** This process's tag on the jobs it runs; the boot id tells a restarted process with a reused pid apart. */
  private readonly owner = `${process.pid}:${randomUUID()}`;
  private readonly running = new Map<string, Promise<void>>();
  private concurrency = 0;
  private handler?: JobHandler;
  private onSettled?: (job: StoredJob) => void;
  private poller?: NodeJS.Timeout;
  private stopping = false;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    // Files made before jobs recorded their submitter: their jobs run charged to no one.
    const columns = this.db.prepare("SELECT name FROM pragma_table_info('jobs')").pluck().all() as string[];
    if (!columns.includes('submitted_by')) this.db.exec('ALTER TABLE jobs ADD COLUMN submitted_by TEXT');
  }

  async add(job: StoredJob): Promise<{ job: StoredJob; created: boolean }> {
    const insert = this.db.prepare(
      `INSERT INTO jobs (id, status, progress, created_at, attempts, max_attempts, request, audio_path, idempotency_key, submitted_by)
       VALUES (@id, 'queued', 0, @createdAt, 0, @maxAttempts, @request, @audioPath, @idempotencyKey, @submittedBy)
       ON CONFLICT (idempotency_key) DO NOTHING`,
    );
    const info = insert.run({ ...job, request: JSON.stringify(job.request) });
    if (info.changes === 0) return { job: (await this.findByIdempotencyKey(job.idempotencyKey!))!, created: false };
    this.pump();
    return { job: (await this.get(job.id))!, created: true };
  }

  async get(id: string): Promise<StoredJob | undefined> {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    return row && toJob(row);
  }

  async findByIdempotencyKey(key: string): Promise<StoredJob | undefined> {
    const row = this.db.prepare('SELECT * FROM jobs WHERE idempotency_key = ?').get(key) as JobRow | undefined;
    return row && toJob(row);
  }

  async list({ status, limit, cursor }: JobListQuery): Promise<{ jobs: StoredJob[]; nextCursor: string | null }> {
    const before = cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(cursor);
    if (!Number.isSafeInteger(before)) throw new EarshotError('invalid_request', `malformed cursor "${cursor}"`);
    const rows = this.db
      .prepare(`SELECT * FROM jobs WHERE seq < ? ${status ? 'AND status = ?' : ''} ORDER BY seq DESC LIMIT ?`)
      .all(...(status ? [before, status, limit + 1] : [before, limit + 1])) as JobRow[];
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    return { jobs: page.map(toJob), nextCursor: more ? String(page[page.length - 1].seq) : null };
  }

  async remove(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM jobs WHERE id = ?').run(id).changes > 0;
  }

  async retry(id: string): Promise<StoredJob> {
    const changed = this.db
      .prepare(
        `UPDATE jobs SET status = 'queued', progress = 0, attempts = 0, started_at = NULL, finished_at = NULL,
           error = NULL, result = NULL, webhook = NULL, owner = NULL
         WHERE id = ? AND status = 'failed'`,
      )
      .run(id).changes;
    if (!changed) throw new EarshotError('job_conflict', `job ${id} is not failed`);
    this.pump();
    return (await this.get(id))!;
  }

  async setWebhook(id: string, delivery: WebhookDelivery): Promise<void> {
    this.db.prepare('UPDATE jobs SET webhook = ? WHERE id = ?').run(JSON.stringify(delivery), id);
  }

  async finishedBefore(time: number, limit: number): Promise<StoredJob[]> {
    const rows = this.db
      .prepare(`SELECT * FROM jobs WHERE finished_at < ? AND status IN ('completed', 'failed') ORDER BY finished_at LIMIT ?`)
      .all(time, limit) as JobRow[];
    return rows.map(toJob);
  }

  async stats(): Promise<QueueStats> {
    const depth = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as QueueStats['depth'];
    for (const { status, n } of this.db.prepare('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status').all() as { status: JobStatus; n: number }[]) {
      depth[status] = n;
    }
    const oldest = this.db.prepare(`SELECT MIN(created_at) AS t FROM jobs WHERE status = 'queued'`).get() as { t: number | null };
    return {
      backend: this.backend,
      depth,
      workers: this.concurrency,
      oldest_queued_age_s: oldest.t === null ? null : Math.round((Date.now() - oldest.t) / 100) / 10,
    };
  }

  async startRunners(handler: JobHandler, concurrency: number, onSettled: (job: StoredJob) => void): Promise<void> {
    this.handler = handler;
    this.onSettled = onSettled;
    this.concurrency = concurrency;
    this.recoverOrphans();
    this.poller = setInterval(() => {
      this.recoverOrphans();
      this.pump();
    }, POLL_MS);
    this.pump();
  }

  async close(graceMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.poller);
    const timeout = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.all(this.running.values()), timeout]);
    // Runs still going go back to the queue; the interrupted attempt does not count.
    this.db
      .prepare(`UPDATE jobs SET status = 'queued', progress = 0, owner = NULL, attempts = MAX(attempts - 1, 0) WHERE status = 'processing' AND owner = ?`)
      .run(this.owner);
    this.concurrency = 0;
    this.db.close();
  }

  /** Claims queued jobs while a runner is free. */
  private pump(): void {
    while (this.handler && !this.stopping && this.running.size < this.concurrency) {
      const row = this.db
        .prepare(
          `UPDATE jobs SET status = 'processing', progress = 0, attempts = attempts + 1, started_at = ?, owner = ?
           WHERE seq = (SELECT seq FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1) RETURNING *`,
        )
        .get(Date.now(), this.owner) as JobRow | undefined;
      if (!row) return;
      const job = toJob(row);
      const run = this.runOne(job).finally(() => {
        this.running.delete(job.id);
        this.pump();
      });
      this.running.set(job.id, run);
    }
  }

  private async runOne(job: StoredJob): Promise<void> {
    const mine = "WHERE id = @id AND status = 'processing' AND owner = @owner";
    const progress = this.db.prepare(`UPDATE jobs SET progress = @progress ${mine}`);
    try {
      const result = await this.handler!(job, (fraction) => {
        if (!this.stopping) progress.run({ id: job.id, owner: this.owner, progress: Math.min(1, fraction) });
      });
      if (this.stopping && !this.db.open) return;
      this.db
        .prepare(`UPDATE jobs SET status = 'completed', progress = 1, finished_at = @now, result = @result, owner = NULL ${mine}`)
        .run({ id: job.id, owner: this.owner, now: Date.now(), result: JSON.stringify(result) });
    } catch (err) {
      if (this.stopping && !this.db.open) return;
      const final = isPermanentFailure(err) || job.attempts >= job.maxAttempts;
      this.db
        .prepare(
          final
            ? `UPDATE jobs SET status = 'failed', finished_at = @now, error = @error, owner = NULL ${mine}`
            : `UPDATE jobs SET status = 'queued', progress = 0, error = @error, owner = NULL ${mine}`,
        )
        .run({ id: job.id, owner: this.owner, now: Date.now(), error: JSON.stringify(failureBody(err)) });
    }
    const settled = await this.get(job.id);
    if (settled && (settled.status === 'completed' || settled.status === 'failed')) this.onSettled!(settled);
  }

  /** Jobs whose owner process is gone: back to the queue, or failed once their attempts are used up. */
  private recoverOrphans(): void {
    const owners = this.db.prepare(`SELECT DISTINCT owner FROM jobs WHERE status = 'processing' AND owner IS NOT NULL`).pluck().all() as string[];
    for (const owner of owners) {
      if (owner === this.owner) continue;
      const pid = ownerPid(owner);
      if (pid !== process.pid && processAlive(pid)) continue;
      const error = JSON.stringify({ code: 'internal', message: 'the process running the job stopped before it finished' });
      this.db
        .prepare(
          `UPDATE jobs SET owner = NULL, progress = 0,
             status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
             finished_at = CASE WHEN attempts >= max_attempts THEN @now ELSE NULL END,
             error = CASE WHEN attempts >= max_attempts THEN @error ELSE error END
           WHERE status = 'processing' AND owner = @owner`,
        )
        .run({ owner, now: Date.now(), error });
    }
  }
}
