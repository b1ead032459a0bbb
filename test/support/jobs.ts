import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonOrNull, TESTDATA } from './server';

export const JFK = join(TESTDATA, 'stt/en/jfk.wav');
export const LONG_CLIP = join(TESTDATA, 'stt/long/ljspeech_LJ001-0003_to_0012_concat.wav');

/** The job backends the suite runs against: SQLite always, Redis when REDIS_URL is set (.ci/run sets it). */
export function jobBackends(): Array<[string, Record<string, string>]> {
  const backends: Array<[string, Record<string, string>]> = [['sqlite', {}]];
  if (process.env.REDIS_URL) backends.push(['redis', { REDIS_URL: process.env.REDIS_URL }]);
  return backends;
}

/** Empties the Redis database the tests use, so no job of an earlier run is in the way. */
export async function flushRedis(redisUrl: string): Promise<void> {
  const { default: IORedis } = await import('ioredis');
  const redis = new IORedis(redisUrl);
  await redis.flushdb();
  await redis.quit();
}

/** A long WAV: the long DEV clip repeated, in a temp dir. */
export function longWav(dir: string, repeats: number): string {
  const out = join(dir, `long-${repeats}.wav`);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-stream_loop', String(repeats - 1), '-i', LONG_CLIP, '-c', 'copy', out]);
  return out;
}

export interface HttpResult {
  status: number;
  json: any;
}

export async function call(url: string, init?: RequestInit): Promise<HttpResult> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, json: jsonOrNull(text) ?? text };
}

/** POST /v1/process with async_process, and an optional Idempotency-Key. */
export async function submitJob(url: string, audio: string | Uint8Array, request: object, idempotencyKey?: string): Promise<HttpResult> {
  const form = new FormData();
  form.append('audio', new Blob([typeof audio === 'string' ? readFileSync(audio) : audio]), 'audio.wav');
  form.append('request_json', JSON.stringify({ ...request, async_process: true }));
  return call(`${url}/v1/process`, { method: 'POST', body: form, headers: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {} });
}

/** Polls GET /v1/jobs/:id until `done` says so; returns every body seen, the last one last. */
export async function pollJob(url: string, id: string, done: (job: any) => boolean, timeoutMs = 120_000): Promise<any[]> {
  const seen = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, json } = await call(`${url}/v1/jobs/${id}`);
    if (status !== 200) throw new Error(`GET /v1/jobs/${id} → ${status} ${JSON.stringify(json)}`);
    seen.push(json);
    if (done(json)) return seen;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${json.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export const finished = (job: { status: string }) => job.status === 'completed' || job.status === 'failed';
