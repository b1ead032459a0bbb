/** The embedded backend's state machine, with a fake handler (the pipeline itself is covered end to end). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ProcessResponse } from '../../libs/contracts/process';
import { EarshotError } from '../../src/contract/errors';
import type { JobHandler, StoredJob } from '../../src/server/core/jobs/job-queue';
import { SqliteJobQueue } from '../../src/server/infra/jobs/sqlite-job-queue';
import { queuedJob } from '../support/stored-job';

const RESPONSE = {
  status: 'completed',
  request_id: 'r',
  audio: { duration_s: 1, sample_rate: 16000, channels: 1 },
  timings_ms: {},
  result: {},
} as ProcessResponse;
let file: string;
const queues: SqliteJobQueue[] = [];

function open(): SqliteJobQueue {
  const q = new SqliteJobQueue(file);
  queues.push(q);
  return q;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not reached');
}

beforeEach(() => {
  file = join(mkdtempSync(join(tmpdir(), 'earshot-sqlite-queue-')), 'jobs.sqlite');
});

afterEach(async () => {
  for (const q of queues.splice(0)) await q.close(0).catch(() => undefined);
});

test('a job runs once, reports progress, stores its result and is settled; idempotency keys are unique', async () => {
  const q = open();
  const settled: StoredJob[] = [];
  const seen: number[] = [];
  const handler: JobHandler = async (job, progress) => {
    progress(0.5);
    seen.push((await q.get(job.id))!.progress);
    return RESPONSE;
  };
  expect((await q.add(queuedJob('a', { idempotencyKey: 'k' }))).created).toBe(true);
  const again = await q.add(queuedJob('b', { idempotencyKey: 'k' }));
  expect({ created: again.created, id: again.job.id }).toEqual({ created: false, id: 'a' });
  await q.startRunners(handler, 1, (j) => settled.push(j));
  await until(async () => settled.length === 1);
  expect(seen).toEqual([0.5]);
  expect(await q.get('a')).toMatchObject({ status: 'completed', progress: 1, attempts: 1, result: RESPONSE });
  expect(await q.get('b')).toBeUndefined();
});

test('bad input fails at once; a crash-like error is retried until max attempts', async () => {
  const q = open();
  const settled: string[] = [];
  await q.add(queuedJob('bad'));
  await q.add(queuedJob('flaky', { maxAttempts: 2 }));
  await q.startRunners(
    async (job) => {
      throw job.id === 'bad' ? new EarshotError('unsupported_audio', 'not audio') : new Error('worker died');
    },
    1,
    (j) => settled.push(j.id),
  );
  await until(async () => settled.length === 2);
  expect(await q.get('bad')).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'unsupported_audio' } });
  expect(await q.get('flaky')).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'internal', message: 'worker died' } });
  const retried = await q.retry('flaky');
  expect(['queued', 'processing']).toContain(retried.status);
  expect(retried.attempts).toBeLessThanOrEqual(1);
  await until(async () => settled.length === 3);
  expect(await q.get('flaky')).toMatchObject({ status: 'failed', attempts: 2 });
  await expect(q.retry('nope')).rejects.toMatchObject({ code: 'job_conflict' });
});

test('a job whose process died goes back to the queue, or fails once its attempts are used', async () => {
  const first = open();
  await first.add(queuedJob('orphan'));
  await first.add(queuedJob('spent', { maxAttempts: 1 }));
  await first.close(0);
  // As if a process with a pid that no longer exists had claimed both and been killed.
  const db = new Database(file);
  db.prepare(`UPDATE jobs SET status = 'processing', attempts = 1, owner = '999999999:gone'`).run();
  db.close();

  const second = open();
  const runs: string[] = [];
  await second.startRunners(
    async (job) => (runs.push(`${job.id}#${job.attempts}`), RESPONSE),
    1,
    () => undefined,
  );
  await until(async () => (await second.get('orphan'))!.status === 'completed');
  expect(runs).toEqual(['orphan#2']);
  expect(await second.get('spent')).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'internal' } });
});

test('close puts a running job back without using an attempt; a deleted running job drops its result', async () => {
  const q = open();
  let release!: () => void;
  const blocked = new Promise<void>((r) => (release = r));
  await q.add(queuedJob('slow'));
  await q.startRunners(
    async () => (await blocked, RESPONSE),
    1,
    () => undefined,
  );
  await until(async () => (await q.get('slow'))!.status === 'processing');
  await q.close(50);
  const reopened = open();
  expect(await reopened.get('slow')).toMatchObject({ status: 'queued', attempts: 0 });

  const settled: string[] = [];
  let finish!: () => void;
  await reopened.startRunners(
    async () => (await new Promise<void>((r) => (finish = r)), RESPONSE),
    1,
    (j) => settled.push(j.id),
  );
  await until(async () => (await reopened.get('slow'))!.status === 'processing');
  expect(await reopened.remove('slow')).toBe(true);
  finish();
  release();
  await new Promise((r) => setTimeout(r, 50));
  expect(await reopened.get('slow')).toBeUndefined();
  expect(settled).toEqual([]);
});

test('listing pages newest first with a status filter; stats count by status', async () => {
  const q = open();
  for (const id of ['j1', 'j2', 'j3', 'j4', 'j5']) await q.add(queuedJob(id, { createdAt: Date.now() - 5000 }));
  const p1 = await q.list({ limit: 2 });
  const p2 = await q.list({ limit: 2, cursor: p1.nextCursor! });
  const p3 = await q.list({ limit: 2, cursor: p2.nextCursor! });
  expect([p1, p2, p3].map((p) => p.jobs.map((j) => j.id))).toEqual([['j5', 'j4'], ['j3', 'j2'], ['j1']]);
  expect(p3.nextCursor).toBeNull();
  expect((await q.list({ limit: 10, status: 'failed' })).jobs).toEqual([]);
  await expect(q.list({ limit: 2, cursor: 'x' })).rejects.toMatchObject({ code: 'invalid_request' });
  const stats = await q.stats();
  expect(stats).toMatchObject({ backend: 'sqlite', depth: { queued: 5, processing: 0, completed: 0, failed: 0 }, workers: 0 });
  expect(stats.oldest_queued_age_s).toBeGreaterThanOrEqual(5);
});

test('a job keeps the key that submitted it for its runner, however the runner came to pick it up', async () => {
  const q = open();
  const ranFor: Array<[string, string | null]> = [];
  const settled: string[] = [];
  await q.add(queuedJob('first', { submittedBy: 'alice' }));
  await q.startRunners(
    async (job) => {
      ranFor.push([job.id, job.submittedBy]);
      // The next job is added while this one runs: it starts from this run's end, not from its own submission.
      if (job.id === 'first') await q.add(queuedJob('second', { submittedBy: 'bob' }));
      return RESPONSE;
    },
    1,
    (j) => settled.push(j.id),
  );
  await until(async () => settled.length === 2);
  expect(ranFor).toEqual([
    ['first', 'alice'],
    ['second', 'bob'],
  ]);
  expect((await q.get('second'))?.submittedBy).toBe('bob');
});

test('a jobs file from before submitters were recorded gains the column; its older jobs have no submitter', async () => {
  const old = new Database(file);
  old.exec(`CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL, request TEXT NOT NULL, audio_path TEXT NOT NULL,
    idempotency_key TEXT UNIQUE, owner TEXT, result TEXT, error TEXT, webhook TEXT)`);
  old
    .prepare(
      `INSERT INTO jobs (id, status, created_at, max_attempts, request, audio_path) VALUES ('legacy', 'queued', 1, 3, '{"settings":{"tasks":["transcribe"]}}', '/a')`,
    )
    .run();
  old.close();
  const q = open();
  expect(await q.get('legacy')).toMatchObject({ status: 'queued', submittedBy: null });
  await q.add(queuedJob('new', { submittedBy: 'carol' }));
  expect((await q.get('new'))?.submittedBy).toBe('carol');
});
