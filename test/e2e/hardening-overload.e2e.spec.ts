/**
 * Overload and cancellation on the real service: a burst of 20 concurrent requests against concurrency 2 and a
 * queue of 3 (some 503 + Retry-After, every accepted one correct, /health answering throughout), a client that
 * disconnects frees its slot without its run completing, and audio_url from a local server (ALLOW_PRIVATE_URLS).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { wordErrors } from '../../libs/text/wer';
import { manifest, postProcess, startServer, TESTDATA, type TestServer } from '../support/server';

const CLIP = 'stt/en/librispeech_1221-135766-0001.wav'; // 16.7 s
const LONG = 'stt/long/ljspeech_LJ001-0003_to_0012_concat.wav'; // 70.6 s
const JFK = join(TESTDATA, 'stt/en/jfk.wav');
let server: TestServer;
let files: Server;
let filesUrl: string;

beforeAll(async () => {
  // One window per batch: the worker reaches a progress point (where a cancelled run stops) after every window.
  server = await startServer({ INFERENCE_CONCURRENCY: '2', MAX_QUEUE_LENGTH: '3', ALLOW_PRIVATE_URLS: 'true', STT_BATCH_SIZE: '1' });
  files = createServer((req, res) => {
    if (req.url === '/jfk.wav') return void res.writeHead(200, { 'content-type': 'audio/wav' }).end(readFileSync(JFK));
    if (req.url === '/moved') return void res.writeHead(301, { location: '/jfk.wav' }).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  filesUrl = `http://127.0.0.1:${(files.address() as { port: number }).port}`;
});

afterAll(async () => {
  await server?.close();
  await new Promise((r) => files?.close(r));
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('20 concurrent requests, concurrency 2, queue 3: the excess gets 503 + Retry-After at once, the rest are correct', async () => {
  const clip = manifest().find((e) => e.path === CLIP)!;
  const audio = readFileSync(join(TESTDATA, CLIP));
  const health: number[] = [];
  let bursting = true;
  const poller = (async () => {
    while (bursting) {
      health.push((await fetch(`${server.url}/health`)).status);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  const calls = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const form = new FormData();
      form.append('audio', new Blob([audio]), 'clip.wav');
      form.append('request_json', JSON.stringify({ settings: { tasks: ['transcribe'], tra: { language: 'en' } } }));
      const res = await fetch(`${server.url}/v1/process`, { method: 'POST', body: form });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (await res.json()) as any };
    }),
  );
  bursting = false;
  await poller;

  const refused = calls.filter((c) => c.status === 503);
  const accepted = calls.filter((c) => c.status === 200);
  expect(refused.length + accepted.length).toBe(20);
  expect(refused.length).toBeGreaterThanOrEqual(1);
  expect(accepted.length).toBeGreaterThanOrEqual(5); // 2 running + 3 waiting at least
  for (const r of refused) {
    expect(r.json.error.code).toBe('overloaded');
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
  }
  for (const a of accepted) {
    const { edits, words } = wordErrors(clip.reference, a.json.result.tra.text);
    expect(edits / words).toBeLessThan(0.25);
  }
  expect(health.length).toBeGreaterThan(0);
  expect(health.every((s) => s === 200)).toBe(true);
  expect(await metric('earshot_admission_refused_total')).toBe(refused.length);
  const after: any = await (await fetch(`${server.url}/health`)).json();
  expect(after.inference_worker_restarts).toBe(0);
}, 300_000);

test('a client that disconnects cancels its run: the slot is freed, the run never completes, the service goes on', async () => {
  const audioBefore = await metric('earshot_audio_seconds_processed_total');
  const controller = new AbortController();
  const form = new FormData();
  form.append('audio', new Blob([readFileSync(join(TESTDATA, LONG))]), 'long.wav');
  form.append('request_json', JSON.stringify({ settings: { tasks: ['transcribe'], tra: { language: 'en' } } }));
  const request = fetch(`${server.url}/v1/process`, { method: 'POST', body: form, signal: controller.signal }).catch((e: Error) => e.name);
  for (let i = 0; i < 600 && (await metric('earshot_inference_running')) < 1; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await metric('earshot_inference_running')).toBe(1);
  controller.abort();
  expect(await request).toBe('AbortError');
  for (let i = 0; i < 1200 && (await metric('earshot_inference_running')) > 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await metric('earshot_inference_running')).toBe(0);
  expect(await metric('earshot_audio_seconds_processed_total')).toBe(audioBefore); // the 70 s were never counted as processed

  const next = await postProcess(server.url, JFK, { settings: { tasks: ['transcribe'], tra: { language: 'en' } } });
  expect(next.status).toBe(200);
  expect(next.json.result.tra.text).toMatch(/fellow Americans/);
}, 180_000);

test('audio_url from a local server (and through a redirect) with ALLOW_PRIVATE_URLS=true', async () => {
  for (const path of ['/jfk.wav', '/moved']) {
    const form = new FormData();
    form.append('audio_url', `${filesUrl}${path}`);
    const res = await fetch(`${server.url}/v1/process`, { method: 'POST', body: form });
    const json: any = await res.json();
    expect(res.status).toBe(200);
    expect(json.result.tra.text).toMatch(/ask not what your country can do for you/i);
    expect(json.audio.duration_s).toBeCloseTo(11, 0);
  }
  const form = new FormData();
  form.append('audio_url', `${filesUrl}/missing.wav`);
  const missing = await fetch(`${server.url}/v1/process`, { method: 'POST', body: form });
  expect(missing.status).toBe(400);
  expect(((await missing.json()) as any).error.message).toBe('audio_url answered HTTP 404');
});
