/**
 * npm run bench:jobs [-- --jobs 50] [--backends sqlite,redis]
 *
 * Submits N short jobs at once (the short English DEV clips, round robin, whisper-tiny) to a real Earshot process
 * and waits for all of them, once per backend: the embedded SQLite backend (one process) and Redis (an API process
 * and a worker process; a throwaway redis-server is started when REDIS_URL is unset). Reports throughput, queue
 * wait (started_at − created_at) p50/p95, and the peak RSS of the Earshot processes. Progress goes to stderr;
 * stdout gets a table and, last, one line of JSON.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../test/support/server';
import { startEarshot, waitReady } from './support/earshot-process';

const ROOT = resolve(__dirname, '..');
const TESTDATA = resolve(ROOT, '../shared/testdata');
const CLIPS = ['stt/en/ljspeech_LJ001-0002.wav', 'stt/en/ljspeech_LJ001-0013.wav', 'stt/en/timit_LDC93S1.wav', 'stt/en/librispeech_1221-135766-0002.wav'];

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident memory of a process, from ps (kB → MB). */
function rssMb(pid: number): number {
  try {
    return (
      Number(
        execFileSync('ps', ['-o', 'rss=', '-p', String(pid)])
          .toString()
          .trim(),
      ) / 1024
    );
  } catch {
    return 0;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Result {
  backend: string;
  jobs: number;
  completed: number;
  wall_s: number;
  jobs_per_min: number;
  queue_wait_p50_s: number;
  queue_wait_p95_s: number;
  peak_rss_mb: number;
}

async function runBackend(backend: string, count: number, redisUrl: string | null): Promise<Result> {
  const dataDir = mkdtempSync(join(tmpdir(), `earshot-bench-jobs-${backend}-`));
  const base = { DATA_DIR: dataDir, UPLOAD_DIR: join(dataDir, 'uploads'), REDIS_URL: redisUrl ?? '' };
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const children =
    backend === 'redis'
      ? [startEarshot({ ...base, ROLE: 'api' }, port), startEarshot({ ...base, ROLE: 'worker' }, await freePort())]
      : [startEarshot(base, port)];
  try {
    await waitReady(url);
    if (backend === 'redis') await sleep(3000); // the worker process loads its model too
    let peak = 0;
    const sampler = setInterval(
      () =>
        (peak = Math.max(
          peak,
          children.reduce((sum, c) => sum + rssMb(c.pid!), 0),
        )),
      250,
    );
    const audio = CLIPS.map((p) => readFileSync(join(TESTDATA, p)));
    const started = Date.now();
    log(`${backend}: submitting ${count} jobs`);
    const ids = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const form = new FormData();
        form.append('audio', new Blob([audio[i % audio.length]]), 'clip.wav');
        form.append('request_json', JSON.stringify({ settings: { tasks: ['transcribe'], tra: { language: 'en' } }, async_process: true }));
        const res = await fetch(`${url}/v1/process`, { method: 'POST', body: form });
        if (res.status !== 202) throw new Error(`submit → ${res.status} ${await res.text()}`);
        return ((await res.json()) as { job_id: string }).job_id;
      }),
    );
    const wanted = new Set(ids);
    let jobs: Array<{ job_id: string; status: string; created_at: string; started_at: string; finished_at: string }> = [];
    for (;;) {
      const list = (await (await fetch(`${url}/v1/jobs?limit=100`)).json()) as { jobs: typeof jobs };
      jobs = list.jobs.filter((j) => wanted.has(j.job_id));
      const done = jobs.filter((j) => j.status === 'completed' || j.status === 'failed').length;
      if (done === count) break;
      log(`${backend}: ${done}/${count} done`);
      await sleep(1000);
    }
    clearInterval(sampler);
    const lastFinish = Math.max(...jobs.map((j) => Date.parse(j.finished_at)));
    const waits = jobs.map((j) => (Date.parse(j.started_at) - Date.parse(j.created_at)) / 1000).sort((a, b) => a - b);
    const wall = (lastFinish - started) / 1000;
    return {
      backend,
      jobs: count,
      completed: jobs.filter((j) => j.status === 'completed').length,
      wall_s: Math.round(wall * 10) / 10,
      jobs_per_min: Math.round((count / wall) * 60 * 10) / 10,
      queue_wait_p50_s: Math.round(percentile(waits, 50) * 10) / 10,
      queue_wait_p95_s: Math.round(percentile(waits, 95) * 10) / 10,
      peak_rss_mb: Math.round(peak),
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on('exit', r)))));
  }
}

/** A redis-server for the run when REDIS_URL is not given. */
async function throwawayRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await sleep(500);
  return { url: `redis://127.0.0.1:${port}/0`, stop: () => child.kill('SIGTERM') };
}

async function main(): Promise<void> {
  const count = Number(option('jobs', '50'));
  const backends = option('backends', 'sqlite,redis').split(',');
  const results: Result[] = [];
  for (const backend of backends) {
    let redis: { url: string; stop: () => void } | null = null;
    if (backend === 'redis') redis = process.env.REDIS_URL ? { url: process.env.REDIS_URL, stop: () => undefined } : await throwawayRedis();
    try {
      results.push(await runBackend(backend, count, redis?.url ?? null));
    } finally {
      redis?.stop();
    }
  }
  const header = ['backend', 'jobs', 'completed', 'wall s', 'jobs/min', 'wait p50 s', 'wait p95 s', 'peak RSS MB'];
  const rows = results.map((r) =>
    [r.backend, r.jobs, r.completed, r.wall_s, r.jobs_per_min, r.queue_wait_p50_s, r.queue_wait_p95_s, r.peak_rss_mb].map(String),
  );
  process.stdout.write(`| ${header.join(' | ')} |\n| ${header.map(() => '---').join(' | ')} |\n`);
  for (const row of rows) process.stdout.write(`| ${row.join(' | ')} |\n`);
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version };
  process.stdout.write(`${JSON.stringify({ bench: 'jobs', machine, results })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
