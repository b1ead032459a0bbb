/**
 * The Redis task service's nine /api/v1 routes (seeds/002, kikipounamu ASR_server), driven with the requests that
 * service documents (`curl -X POST …/api/v1/asr/submit -F "audio=@test.wav"`, `curl …/api/v1/health`, …), on the real
 * service with API keys: its response shapes, FastAPI's `{"detail"}` errors, Earshot's auth and metrics.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JFK } from '../support/jobs';
import { jsonOrNull, startServer, type TestServer } from '../support/server';

const dir = mkdtempSync(join(tmpdir(), 'earshot-compat-tasks-'));
const keysFile = join(dir, 'keys.json');
const KEY = 'tasks-full-0123456789';
const READER = 'tasks-reader-0123456789';
writeFileSync(
  keysFile,
  JSON.stringify([
    { name: 'full', key: KEY },
    { name: 'reader', key: READER, scopes: ['jobs:read'] },
  ]),
);

let server: TestServer;

beforeAll(async () => {
  server = await startServer({ API_KEYS_FILE: keysFile });
});

afterAll(async () => {
  await server?.close();
});

interface Answer {
  status: number;
  json: any;
}

async function api(path: string, init: RequestInit = {}, key: string | null = KEY): Promise<Answer> {
  const headers = key ? { authorization: `Bearer ${key}` } : undefined;
  const res = await fetch(`${server.url}/api/v1${path}`, { ...init, headers });
  return { status: res.status, json: jsonOrNull(await res.text()) };
}

/** `curl -X POST /api/v1/asr/submit -F "audio=@<file>"` */
function submit(bytes: Uint8Array, filename: string, query = '', key: string | null = KEY): Promise<Answer> {
  const form = new FormData();
  form.append('audio', new Blob([bytes]), filename);
  return api(`/asr/submit${query}`, { method: 'POST', body: form }, key);
}

async function settled(taskId: string): Promise<Answer> {
  const deadline = Date.now() + 100_000;
  for (;;) {
    const res = await api(`/asr/result/${taskId}`);
    if (res.json.status === 'done' || res.json.status === 'failed' || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 300));
  }
}

let doneId: string;

test('health: ready, models loaded, the job store connected, runners active; open without a key', async () => {
  const res = await api('/health', {}, null);
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ status: 'ready', model_loaded: true, redis_connected: true, workers_active: expect.any(Number) });
  expect(res.json.workers_active).toBeGreaterThan(0);
});

test('submit → result (queued … done with the text) → audio download, history, queue status, stats', async () => {
  const queued = await submit(readFileSync(JFK), 'test.wav', '?language=en&batch_size=500');
  expect(queued.status).toBe(200);
  expect(queued.json).toEqual({ task_id: expect.any(String), status: 'queued', position: expect.any(Number), estimated_wait: null });
  doneId = queued.json.task_id;

  const done = await settled(doneId);
  expect(done.status).toBe(200);
  expect(done.json).toMatchObject({
    task_id: doneId,
    status: 'done',
    audio_url: `/api/v1/asr/audio/${doneId}`,
    retry_url: null,
    error: null,
    progress: 100,
  });
  expect(done.json.text.toLowerCase()).toContain('ask not what your country can do for you');
  expect(done.json.duration).toBeCloseTo(11, 0);

  const audio = await fetch(`${server.url}${done.json.audio_url}`, { headers: { authorization: `Bearer ${KEY}` } });
  expect(audio.status).toBe(200);
  expect(Buffer.from(await audio.arrayBuffer()).equals(readFileSync(JFK))).toBe(true);

  const history = await api('/asr/history?limit=5');
  expect(history.status).toBe(200);
  expect(history.json.total).toBe(history.json.records.length);
  expect(history.json.records[0]).toMatchObject({ task_id: doneId, status: 'done', text: done.json.text, audio_url: done.json.audio_url });

  const queue = await api('/asr/queue/status');
  expect(queue.json).toEqual({
    queued: expect.any(Number),
    processing: expect.any(Number),
    failed: expect.any(Number),
    workers: expect.any(Number),
    workers_busy: expect.any(Number),
  });

  const stats = await api('/stats');
  expect(stats.json.total_tasks).toBeGreaterThanOrEqual(1);
  expect(stats.json.total_duration).toBeGreaterThanOrEqual(11);
  expect(stats.json.avg_rtf).toBeGreaterThan(0);
  expect(stats.json.storage_used).toMatch(/^\d+\.\d\d MB$/);
  expect(parseFloat(stats.json.storage_used)).toBeGreaterThan(0.3); // jfk.wav is 344 KB
});

test('a task that fails: error and retry_url; retry queues it again; only failed tasks retry (400 detail)', async () => {
  const queued = await submit(new TextEncoder().encode('not audio at all'), 'notes.wav');
  expect(queued.status).toBe(200);
  const failed = await settled(queued.json.task_id);
  expect(failed.json).toMatchObject({ status: 'failed', text: null, audio_url: null, retry_url: `/api/v1/asr/retry/${queued.json.task_id}` });
  expect(failed.json.error).toEqual(expect.any(String));

  const retried = await api(`/asr/retry/${queued.json.task_id}`, { method: 'POST' });
  expect(retried.status).toBe(200);
  expect(retried.json).toMatchObject({ task_id: queued.json.task_id, status: 'queued' });
  expect((await settled(queued.json.task_id)).json.status).toBe('failed');

  const notFailed = await api(`/asr/retry/${doneId}`, { method: 'POST' });
  expect(notFailed).toEqual({ status: 400, json: { detail: 'Only failed tasks can be retried' } });
});

test("delete: the task and its audio go; unknown tasks answer in that service's shapes", async () => {
  expect(await api(`/asr/task/${doneId}`, { method: 'DELETE' })).toEqual({
    status: 200,
    json: { task_id: doneId, deleted: true, message: 'Task deleted successfully' },
  });
  expect(await api(`/asr/task/${doneId}`, { method: 'DELETE' })).toEqual({
    status: 200,
    json: { task_id: doneId, deleted: false, message: 'Task not found' },
  });
  expect(await api(`/asr/result/${doneId}`)).toEqual({ status: 404, json: { detail: `Task not found: ${doneId}` } });
  expect(await api(`/asr/audio/${doneId}`)).toEqual({ status: 404, json: { detail: 'Audio file not found' } });
  expect(await api(`/asr/retry/${doneId}`, { method: 'POST' })).toEqual({ status: 404, json: { detail: `Task not found: ${doneId}` } });
});

test('bad requests are 400 with a detail; keys and scopes apply as on the native routes; requests are counted', async () => {
  const noAudio = await api('/asr/submit', { method: 'POST', body: new FormData() });
  expect(noAudio.status).toBe(400);
  expect(noAudio.json.detail).toMatch(/audio/);
  expect((await api('/asr/history?limit=500')).status).toBe(422);

  expect((await submit(readFileSync(JFK), 'test.wav', '', null)).status).toBe(401);
  expect((await submit(readFileSync(JFK), 'test.wav', '', READER)).status).toBe(403);
  expect((await api('/asr/queue/status', {}, READER)).status).toBe(200);

  const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text();
  expect(metrics).toMatch(/earshot_http_requests_total\{method="POST",route="\/api\/v1\/asr\/submit",status="200"\} \d+/);
});
