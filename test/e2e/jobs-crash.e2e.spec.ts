/**
 * Crash safety: the service as a real child process, killed with SIGKILL in the middle of a long job, then
 * started again. The job completes exactly once and nothing is lost. SIGTERM puts a running job back in the queue.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { call, finished, flushRedis, longWav, pollJob, submitJob } from '../support/jobs';
import { freePort, manifest, SHARED_MODELS, TEST_STT_MODEL } from '../support/server';

const ROOT = resolve(__dirname, '../..');
const REQUEST = { settings: { tasks: ['transcribe'], tra: { language: 'en' } } };
const work = mkdtempSync(join(tmpdir(), 'earshot-crash-'));
const LONG = longWav(work, 3);
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Earshot {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** `node src/main.ts` (through ts-node) with the given environment; waits for /ready, or for the worker log line. */
async function startEarshot(env: Record<string, string>): Promise<Earshot> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      MODELS_DIR: SHARED_MODELS,
      DEFAULT_STT_MODEL: TEST_STT_MODEL,
      UPLOAD_DIR: join(work, 'uploads'),
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'log',
      RATE_LIMIT_PER_MIN: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`earshot exited ${child.exitCode}:\n${output}`);
    if (
      env.ROLE === 'worker'
        ? output.includes('job worker started')
        : await fetch(`${url}/ready`).then(
            (r) => r.ok,
            () => false,
          )
    )
      break;
    if (Date.now() > deadline) throw new Error(`earshot did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { child, url, output: () => output, exited };
}

/** Where a long test is, live on stderr (jest holds console output back until the file ends). */
const t0 = Date.now();
const phase = (what: string) => process.stderr.write(`[jobs-crash +${Math.round((Date.now() - t0) / 1000)} s] ${what}\n`);

async function kill9(earshot: Earshot): Promise<void> {
  earshot.child.kill('SIGKILL');
  await earshot.exited;
}

/** The long file is the long clip three times: each repeat's first and middle utterances are in the result once. */
function expectLongTranscript(job: any): void {
  const clip = manifest().find((e) => e.path.includes('stt/long/'))!;
  expect(job.result.audio.duration_s).toBeGreaterThan(3 * clip.duration_s - 1);
  const text: string = job.result.result.tra.text;
  expect(text.match(/Chinese took impressions/gi)).toHaveLength(3);
  expect(text.match(/Gutenberg/gi)).toHaveLength(3);
}

function isMonotonic(values: number[]): boolean {
  return values.every((v, i) => i === 0 || v >= values[i - 1]);
}

test('embedded backend: kill -9 mid-job, restart, the job completes once; SIGTERM puts a running job back', async () => {
  // Small decoder batches: progress moves once per batch.
  const env = { DATA_DIR: join(work, 'sqlite-data'), SHUTDOWN_TIMEOUT_S: '1', STT_BATCH_SIZE: '2', REDIS_URL: '' };
  const first = await startEarshot(env);
  phase('embedded: first process ready');
  const id = (await submitJob(first.url, LONG, REQUEST)).json.job_id;
  const before = await pollJob(first.url, id, (j) => j.status === 'processing' && j.progress >= 0.1, 240_000);
  expect(isMonotonic(before.map((j) => j.progress))).toBe(true);
  await kill9(first);
  phase('embedded: killed mid-job');

  const second = await startEarshot(env);
  phase('embedded: second process ready');
  const runs = await pollJob(second.url, id, finished, 300_000);
  // The rerun starts from 0 and its progress moves in steps (one per decoded batch of windows) up to 1.
  const rerun = runs.filter((j) => j.attempts === 2 && j.status === 'processing').map((j) => j.progress);
  expect(isMonotonic(rerun)).toBe(true);
  expect(new Set(rerun.filter((p) => p > 0 && p < 1)).size).toBeGreaterThanOrEqual(2);
  const job = runs.pop();
  expect(job).toMatchObject({ status: 'completed', attempts: 2, progress: 1 });
  expectLongTranscript(job);
  const listed = (await call(`${second.url}/v1/jobs`)).json.jobs;
  expect(listed.map((j: { job_id: string }) => j.job_id)).toEqual([id]);
  expect(readFileSync(join(env.DATA_DIR, 'audio', id)).equals(readFileSync(LONG))).toBe(true);

  // Graceful shutdown: a job running at SIGTERM goes back to the queue without using an attempt.
  const next = (await submitJob(second.url, LONG, REQUEST)).json.job_id;
  await pollJob(second.url, next, (j) => j.status === 'processing' && j.progress > 0, 240_000);
  second.child.kill('SIGTERM');
  // The process goes (onnxruntime aborts it when the inference thread is torn down mid-run, after the drain).
  await second.exited;
  expect(second.output()).toMatch(/SIGTERM: no new jobs; waiting up to 1 s for running ones/);
  const db = new Database(join(env.DATA_DIR, 'jobs.sqlite'), { readonly: true });
  const row = db.prepare('SELECT status, attempts, owner FROM jobs WHERE id = ?').get(next);
  db.close();
  expect(row).toEqual({ status: 'queued', attempts: 0, owner: null });
}, 600_000);

const redisUrl = process.env.REDIS_URL;
(redisUrl ? test : test.skip)(
  'redis backend: kill -9 a worker mid-job, another worker finishes it once',
  async () => {
    await flushRedis(redisUrl!);
    const env = { DATA_DIR: join(work, 'redis-data'), REDIS_URL: redisUrl!, STT_BATCH_SIZE: '2' };
    const api = await startEarshot({ ...env, ROLE: 'api' });
    const worker = await startEarshot({ ...env, ROLE: 'worker' });
    phase('redis: api and worker ready');
    expect((await call(`${api.url}/v1/queue`)).json).toMatchObject({ backend: 'redis', workers: 1 });
    const id = (await submitJob(api.url, LONG, REQUEST)).json.job_id;
    const before = await pollJob(api.url, id, (j) => j.status === 'processing' && j.progress >= 0.1, 240_000);
    expect(isMonotonic(before.map((j) => j.progress))).toBe(true);
    await kill9(worker);
    phase('redis: worker killed mid-job');

    const replacement = await startEarshot({ ...env, ROLE: 'worker' });
    const job = (await pollJob(api.url, id, finished, 300_000)).pop();
    expect(job).toMatchObject({ status: 'completed', attempts: 2, progress: 1 });
    expectLongTranscript(job);
    expect((await call(`${api.url}/v1/jobs`)).json.jobs.map((j: { job_id: string }) => j.job_id)).toEqual([id]);
    replacement.child.kill('SIGTERM');
    api.child.kill('SIGTERM');
    expect(await replacement.exited).toBe(0);
    expect(await api.exited).toBe(0);
  },
  600_000,
);
