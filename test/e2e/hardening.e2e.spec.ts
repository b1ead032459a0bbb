/**
 * Access and limits on the real service: API keys and scopes on every route family, 429 with Retry-After and
 * recovery, the audio-seconds budget, audio_url refusals, request ids, CORS, security headers and /metrics.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { jsonOrNull, startServer, TESTDATA, type TestServer } from '../support/server';

const JFK = join(TESTDATA, 'stt/en/jfk.wav');
const dir = mkdtempSync(join(tmpdir(), 'earshot-hardening-'));
const keysFile = join(dir, 'keys.json');
writeFileSync(
  keysFile,
  JSON.stringify([
    { name: 'full', key: 'full-0123456789', requests_per_min: 1000 },
    { name: 'reader', key: 'reader-0123456789', scopes: ['jobs:read'] },
    { name: 'limited', key: 'limited-0123456789', scopes: ['process'], requests_per_min: 3 },
    { name: 'metered', key: 'metered-0123456789', scopes: ['process'], audio_seconds_per_hour: 5 },
  ]),
);
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ API_KEYS_FILE: keysFile, CORS_ORIGINS: 'https://app.example', MAX_AUDIO_SECONDS: '40', UPLOAD_IDLE_TIMEOUT_S: '2' });
});

afterAll(async () => {
  await server?.close();
});

async function call(path: string, key?: string, init: RequestInit & { form?: Record<string, string | Blob> } = {}) {
  const headers = new Headers(init.headers);
  if (key) headers.set('x-api-key', key);
  let body = init.body;
  if (init.form) {
    const form = new FormData();
    for (const [k, v] of Object.entries(init.form)) form.append(k, v);
    body = form;
  }
  const res = await fetch(`${server.url}${path}`, { ...init, headers, body, method: init.method ?? (body ? 'POST' : 'GET') });
  const text = await res.text();
  const json = jsonOrNull(text);
  return { status: res.status, headers: res.headers, text, json, code: json?.error?.code as string | undefined };
}

const jfkForm = () => ({
  audio: new Blob([readFileSync(JFK)]),
  request_json: JSON.stringify({ settings: { tasks: ['transcribe'], tra: { language: 'en' } } }),
});

// Started first, checked last: the window runs while the other tests do.
let rateLimitedAt = 0;
let retryAfterS = 0;

test('requests/min per key: over the limit → 429 with Retry-After, other keys unaffected', async () => {
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await call('/v1/models', 'limited-0123456789')).status);
  expect(statuses).toEqual([200, 200, 200]);
  const refused = await call('/v1/models', 'limited-0123456789');
  rateLimitedAt = Date.now();
  expect({ status: refused.status, code: refused.code }).toEqual({ status: 429, code: 'rate_limited' });
  expect(refused.json.error.message).toMatch(/3 requests per minute/);
  retryAfterS = Number(refused.headers.get('retry-after'));
  expect(retryAfterS).toBeGreaterThanOrEqual(1);
  expect(retryAfterS).toBeLessThanOrEqual(60);
  expect((await call('/v1/models', 'full-0123456789')).status).toBe(200);
});

test('/health and /ready are open; other routes need a key: 401 without or with a wrong one, 403 without the scope', async () => {
  expect((await call('/health')).status).toBe(200);
  expect((await call('/ready')).status).toBe(200);

  const missing = await call('/v1/process', undefined, { form: jfkForm() });
  expect({ status: missing.status, code: missing.code }).toEqual({ status: 401, code: 'unauthorized' });
  const wrong = await call('/v1/process', 'full-0123456780', { form: jfkForm() });
  expect({ status: wrong.status, code: wrong.code, message: wrong.json.error.message }).toEqual({
    status: 401,
    code: 'unauthorized',
    message: 'invalid API key',
  });
  const bearer = await fetch(`${server.url}/v1/models`, { headers: { authorization: 'Bearer nope' } });
  expect(bearer.status).toBe(401);

  const noScope = await call('/v1/process', 'reader-0123456789', { form: jfkForm() });
  expect({ status: noScope.status, code: noScope.code }).toEqual({ status: 403, code: 'forbidden' });
  expect(noScope.json.error.message).toMatch(/"process" scope/);
  for (const path of ['/metrics', '/v1/cache/stats']) {
    expect([(await call(path)).status, (await call(path, 'reader-0123456789')).status, (await call(path, 'full-0123456789')).status]).toEqual([401, 403, 200]);
  }
  expect((await call('/docs-json')).status).toBe(200); // DOCS_PUBLIC defaults to true
  // Route families of other modules are guarded by the same table, whether or not the route exists yet.
  expect((await call('/v1/audio/transcriptions', 'reader-0123456789', { method: 'POST' })).status).toBe(403);
  expect((await call('/v1/jobs', 'metered-0123456789')).status).toBe(403);
});

test('a valid key (X-API-Key or Bearer) transcribes; the request id is echoed or made', async () => {
  const ok = await call('/v1/process', 'full-0123456789', { form: jfkForm(), headers: { 'x-request-id': 'trace-42' } });
  expect(ok.status).toBe(200);
  expect(ok.json.result.tra.text).toMatch(/ask not what your country can do for you/i);
  expect(ok.headers.get('x-request-id')).toBe('trace-42');

  const form = new FormData();
  form.append('audio', new Blob([readFileSync(JFK)]));
  const res = await fetch(`${server.url}/v1/process`, { method: 'POST', body: form, headers: { authorization: 'Bearer full-0123456789' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  const bad = await call('/health', undefined, { headers: { 'x-request-id': 'no spaces allowed' } });
  expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
});

test('audio seconds per hour: the run that crosses the budget is served, the next one gets 429 until the hour ends', async () => {
  const first = await call('/v1/process', 'metered-0123456789', { form: jfkForm() });
  expect(first.status).toBe(200);
  const second = await call('/v1/process', 'metered-0123456789', { form: jfkForm() });
  expect({ status: second.status, code: second.code }).toEqual({ status: 429, code: 'rate_limited' });
  expect(second.json.error.message).toMatch(/5 audio seconds per hour/);
  const retry = Number(second.headers.get('retry-after'));
  expect(retry).toBeGreaterThanOrEqual(1);
  expect(retry).toBeLessThanOrEqual(3600);
});

test('audio_url: internal addresses are refused with 400 url_not_allowed; audio and audio_url together are refused', async () => {
  for (const url of [
    'http://127.0.0.1:9/a.wav',
    'http://10.1.2.3/a.wav',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]:9/a.wav',
    'http://localhost:9/a.wav',
  ]) {
    const res = await call('/v1/process', 'full-0123456789', { form: { audio_url: url } });
    expect({ url, status: res.status, code: res.code }).toEqual({ url, status: 400, code: 'url_not_allowed' });
  }
  const both = await call('/v1/process', 'full-0123456789', { form: { ...jfkForm(), audio_url: 'http://example.com/a.wav' } });
  expect({ status: both.status, code: both.code }).toEqual({ status: 400, code: 'invalid_request' });
  const neither = await call('/v1/process', 'full-0123456789', { form: { request_json: '{"settings":{"tasks":["transcribe"]}}' } });
  expect(neither.json.error.message).toMatch(/"audio" file field \(or an "audio_url" field\)/);
});

test('CORS for the configured origin; security headers on the docs pages, not on the API', async () => {
  const preflight = await fetch(`${server.url}/v1/process`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key' },
  });
  expect(preflight.status).toBe(204);
  expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
  const other = await fetch(`${server.url}/health`, { headers: { origin: 'https://evil.example' } });
  expect(other.headers.get('access-control-allow-origin')).toBeNull();

  const docs = await fetch(`${server.url}/docs`);
  expect(docs.status).toBe(200);
  expect(docs.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
  expect(docs.headers.get('x-content-type-options')).toBe('nosniff');
  expect((await fetch(`${server.url}/health`)).headers.get('content-security-policy')).toBeNull();
});

test('an upload that stops sending is cut off after UPLOAD_IDLE_TIMEOUT_S; the service goes on', async () => {
  const { port } = new URL(server.url);
  const closed = await new Promise<string>((resolve) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/process',
      headers: { 'x-api-key': 'full-0123456789', 'content-type': 'multipart/form-data; boundary=xyz', 'content-length': '1000000' },
    });
    req.on('response', (res) => resolve(`response ${res.statusCode}`));
    req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
    req.write('--xyz\r\ncontent-disposition: form-data; name="audio"; filename="a.wav"\r\n\r\nRIFF'); // then nothing
  });
  expect(closed).toMatch(/^(ECONNRESET|socket hang up)$/);
  expect((await call('/health')).status).toBe(200);
});

test('/metrics: requests by route and status, audio seconds, real-time factor, queue, model cache, memory, event loop', async () => {
  const res = await call('/metrics', 'full-0123456789');
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const value = (line: RegExp) =>
    Number(
      res.text
        .split('\n')
        .find((l) => line.test(l))
        ?.split(' ')
        .pop(),
    );
  expect(value(/^earshot_http_requests_total\{method="POST",route="\/v1\/process",status="200"\}/)).toBeGreaterThanOrEqual(3);
  expect(value(/^earshot_http_requests_total\{method="POST",route="\/v1\/process",status="401"\}/)).toBeGreaterThanOrEqual(1);
  expect(value(/^earshot_http_requests_total\{method="GET",route="\/v1\/models",status="429"\}/)).toBe(1);
  expect(value(/^earshot_http_request_duration_seconds_count\{method="POST",route="\/v1\/process",status="200"\}/)).toBeGreaterThanOrEqual(3);
  expect(value(/^earshot_audio_seconds_processed_total\{task="transcribe",model="whisper-tiny"\}/)).toBeGreaterThanOrEqual(33);
  expect(value(/^earshot_real_time_factor_count\{task="transcribe",model="whisper-tiny"\}/)).toBeGreaterThanOrEqual(3);
  expect(value(/^earshot_rate_limited_total\{limit="requests_per_min"\}/)).toBe(1);
  expect(value(/^earshot_rate_limited_total\{limit="audio_seconds_per_hour"\}/)).toBe(1);
  expect(value(/^earshot_inference_queue_depth /)).toBe(0);
  expect(value(/^earshot_inference_queue_wait_seconds_count /)).toBeGreaterThanOrEqual(3);
  expect(value(/^earshot_active_streams /)).toBe(0);
  expect(value(/^earshot_model_cache_hits /)).toBeGreaterThanOrEqual(3);
  expect(value(/^earshot_model_cache_bytes /)).toBeGreaterThan(30e6);
  expect(value(/^earshot_process_resident_memory_bytes /)).toBeGreaterThan(100e6);
  expect(res.text).toMatch(/^earshot_nodejs_eventloop_lag_seconds /m);
});

test('after Retry-After the rate-limited key is served again', async () => {
  const wait = rateLimitedAt + retryAfterS * 1000 + 500 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  expect((await call('/v1/models', 'limited-0123456789')).status).toBe(200);
}, 90_000);

function openStream(query = '', headers: Record<string, string> = {}) {
  const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/ws${query}`, { headers });
  const messages: Array<{ type: string; code?: string }> = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const next = async (type: string) => {
    for (let i = 0; i < 1200 && !messages.some((m) => m.type === type); i++) await new Promise((r) => setTimeout(r, 50));
    return messages.find((m) => m.type === type);
  };
  return { socket, messages, closed, opened, next };
}

test('WebSocket /v1/ws takes the same keys: none or a key without "process" → error frame and close 1008', async () => {
  const anonymous = openStream();
  expect(await anonymous.closed).toBe(1008);
  expect(anonymous.messages).toEqual([expect.objectContaining({ type: 'error', code: 'unauthorized' })]);
  const reader = openStream('', { 'x-api-key': 'reader-0123456789' });
  expect(await reader.closed).toBe(1008);
  expect(reader.messages).toEqual([expect.objectContaining({ type: 'error', code: 'forbidden' })]);
});

test('WebSocket /v1/ws with a process key (header or ?api_key= for browsers) streams, and /metrics counts it', async () => {
  const stream = openStream('?api_key=full-0123456789');
  await stream.opened;
  stream.socket.send(JSON.stringify({ settings: { tasks: ['transcribe'], tra: { language: 'en' } }, sample_rate: 16000 }));
  expect(await stream.next('ready')).toEqual({ type: 'ready' });
  const during = await call('/metrics', 'full-0123456789');
  expect(during.text).toMatch(/^earshot_active_streams 1$/m);
  stream.socket.send(JSON.stringify({ type: 'end' }));
  expect(await stream.next('done')).toEqual({ type: 'done' });
  await stream.closed;
  const after = await call('/metrics', 'full-0123456789');
  expect(after.text).toMatch(/^earshot_active_streams 0$/m);
});
