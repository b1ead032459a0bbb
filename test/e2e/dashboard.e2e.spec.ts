/**
 * GET /v1/dashboard and its SSE feed on the real service: admin scope, figures that follow a real transcription
 * of a DEV clip and a corrupt upload, the event stream outliving REQUEST_TIMEOUT_S and cleaned up on disconnect.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { DashboardHistory, DashboardSample } from '../../libs/contracts/dashboard';
import { DashboardService } from '../../src/server/core/dashboard/dashboard-service';
import { manifest, startServer, TESTDATA, type TestServer } from '../support/server';

const JFK = join(TESTDATA, 'stt/en/jfk.wav');
const JFK_SECONDS = manifest().find((e) => e.path === 'stt/en/jfk.wav')!.duration_s;
const ADMIN = 'admin-0123456789';
const PROCESS_ONLY = 'process-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'earshot-dashboard-'));
const keysFile = join(dir, 'keys.json');
writeFileSync(
  keysFile,
  JSON.stringify([
    { name: 'admin', key: ADMIN },
    { name: 'worker', key: PROCESS_ONLY, scopes: ['process'] },
  ]),
);
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ API_KEYS_FILE: keysFile, DASHBOARD_SAMPLE_S: '1', REQUEST_TIMEOUT_S: '4' });
});

afterAll(async () => {
  await server?.close();
});

const history = async () => (await (await fetch(`${server.url}/v1/dashboard`, { headers: { 'x-api-key': ADMIN } })).json()) as DashboardHistory;

async function post(audio: Uint8Array, name: string) {
  const form = new FormData();
  form.append('audio', new Blob([audio]), name);
  return fetch(`${server.url}/v1/process`, { method: 'POST', body: form, headers: { 'x-api-key': PROCESS_ONLY } });
}

/** Samples taken after `since` (ms), polled until `done` holds for them. */
async function samplesAfter(since: number, done: (samples: DashboardSample[]) => boolean): Promise<DashboardSample[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const samples = (await history()).samples.filter((s) => s.t > since);
    if (done(samples)) return samples;
    if (Date.now() > deadline) throw new Error(`no such samples after 30 s: ${JSON.stringify(samples.slice(-3))}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('the admin scope is needed: 401 without a key, 403 with a process-only key', async () => {
  const none = await fetch(`${server.url}/v1/dashboard`);
  expect(none.status).toBe(401);
  expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  const worker = await fetch(`${server.url}/v1/dashboard/events`, { headers: { 'x-api-key': PROCESS_ONLY } });
  expect(worker.status).toBe(403);
  expect(((await worker.json()) as { error: { code: string } }).error.code).toBe('forbidden');
});

test('both routes are in the OpenAPI document under the dashboard tag', async () => {
  const openapi = (await (await fetch(`${server.url}/docs-json`)).json()) as { paths: Record<string, { get: { tags: string[] } }> };
  expect(openapi.paths['/v1/dashboard'].get.tags).toEqual(['dashboard']);
  expect(openapi.paths['/v1/dashboard/events'].get.tags).toEqual(['dashboard']);
});

test('history: 1 s samples over a 15 minute window, each with every figure', async () => {
  // The model cache is read from the inference worker, which answers between model runs: a sample taken while it
  // is busy (the warm-up, on a loaded machine) leaves the cache out, so wait for one that has it.
  const samples = await samplesAfter(0, (s) => s.length >= 2 && s.some((x) => x.models !== null));
  const body = await history();
  expect(body.interval_s).toBe(1);
  expect(body.window_s).toBe(900);
  const last = samples[samples.length - 1];
  expect(last.interval_s).toBeGreaterThan(0.5);
  expect(last.jobs).toEqual({ queued: 0, processing: 0, completed: 0, failed: 0, cancelled: 0 });
  expect(last.inference).toEqual({ queued: 0, running: 0 });
  expect(last.streams).toBe(0);
  expect(last.cpu!.cores).toBeGreaterThanOrEqual(1);
  expect(last.memory_mb!.rss).toBeGreaterThan(last.memory_mb!.heap_used);
  // The default model was loaded and warmed up at start.
  const { models } = samples.filter((x) => x.models !== null).pop()!;
  expect(models).toEqual(expect.arrayContaining([expect.objectContaining({ name: expect.stringContaining('whisper-tiny'), in_use: 0 })]));
  expect(models![0].mb).toBeGreaterThan(10);
});

test('a real transcription moves throughput, requests and RTF; a corrupt upload shows under errors by code', async () => {
  const before = Date.now();
  const ok = await post(readFileSync(JFK), 'jfk.wav');
  expect(ok.status).toBe(200);
  const bad = await post(new TextEncoder().encode('this is not audio at all'), 'noise.wav');
  expect(bad.status).toBe(415);
  const samples = await samplesAfter(before, (s) => s.some((x) => x.audio_s > 0) && s.some((x) => x.errors.unsupported_audio));

  const run = samples.find((s) => s.audio_s > 0)!;
  expect(run.audio_s).toBeCloseTo(JFK_SECONDS, 1); // once per run, not once per task
  expect(run.throughput).toBeCloseTo(run.audio_s / run.interval_s, 1);
  expect(run.rtf.transcribe).toBeGreaterThan(0);
  expect(run.rtf.diarization).toBeNull();
  expect(samples.reduce((n, s) => n + s.requests.count, 0)).toBe(2);
  const timed = samples.find((s) => s.requests.count > 0)!;
  expect(timed.requests.p95_ms).toBeGreaterThanOrEqual(timed.requests.p50_ms!);
  expect(samples.reduce((n, s) => n + (s.errors.unsupported_audio ?? 0), 0)).toBe(1);

  // The dashboard's own calls (polled above) are not API requests.
  const since = Date.now();
  const quiet = await samplesAfter(since, (s) => s.length >= 2);
  expect(quiet.map((s) => s.requests.count)).toEqual(quiet.map(() => 0));

  const metrics = await (await fetch(`${server.url}/metrics`, { headers: { 'x-api-key': ADMIN } })).text();
  expect(metrics).toMatch(/earshot_errors_total\{code="unsupported_audio"\} 1\b/);
  expect(metrics).toMatch(/earshot_errors_total\{code="unauthorized"\} [1-9]/);
});

test('a WebSocket stream counts while open, and its error frame counts under its code', async () => {
  const before = Date.now();
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`, { headers: { 'x-api-key': PROCESS_ONLY } });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  await samplesAfter(before, (s) => s.some((x) => x.streams === 1));
  const frame = new Promise<{ type: string; code: string }>((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)))));
  socket.send(Buffer.alloc(4)); // audio before the settings frame
  expect(await frame).toMatchObject({ type: 'error', code: 'invalid_request' });
  socket.close();
  const samples = await samplesAfter(before, (s) => s.some((x) => x.errors.invalid_request) && s[s.length - 1].streams === 0);
  expect(samples.reduce((n, x) => n + (x.errors.invalid_request ?? 0), 0)).toBe(1);
});

test('the event stream: history, then a sample a second, past REQUEST_TIMEOUT_S; its listener goes on disconnect', async () => {
  const dashboard = server.app.get(DashboardService);
  const controller = new AbortController();
  const res = await fetch(`${server.url}/v1/dashboard/events`, { headers: { authorization: `Bearer ${ADMIN}` }, signal: controller.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Array<{ event: string; data: any }> = [];
  let buffered = '';
  const started = Date.now();
  // REQUEST_TIMEOUT_S is 4: read for 6 s.
  while (Date.now() - started < 6000) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const event = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
    }
  }
  expect(events[0].event).toBe('history');
  expect(events[0].data.interval_s).toBe(1);
  expect(events[0].data.samples.length).toBeGreaterThan(0);
  const live = events.slice(1);
  expect(live.length).toBeGreaterThanOrEqual(4);
  expect(live.every((e) => e.event === 'sample')).toBe(true);
  expect(live[live.length - 1].data.t).toBeGreaterThan(started + 4000);
  expect(dashboard.subscribers).toBe(1);

  controller.abort();
  const deadline = Date.now() + 5000;
  while (dashboard.subscribers > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(dashboard.subscribers).toBe(0);
  expect((await fetch(`${server.url}/health`)).status).toBe(200);
});
