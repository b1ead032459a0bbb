/**
 * The HTTP layer over a fake engine (the engine contract's handlers over a MessageChannel, no models loaded):
 * validation, auth, the mapping of engine errors to statuses, and whose audio budget background jobs charge.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EarshotError } from '../../src/contract/errors';
import { createApp } from '../../src/server/app';
import { loadConfig } from '../../src/server/infra/config/app-config';
import { fakeEngines, fakeResult } from '../support/fake-engine';
import { call, flushRedis, jobBackends } from '../support/jobs';
import { TESTDATA } from '../support/server';

const JFK = join(TESTDATA, 'stt/en/jfk.wav');
const ROOT = resolve(__dirname, '../..');

interface Served {
  url: string;
  app: NestFastifyApplication;
}

async function serve(env: Record<string, string>, engines = fakeEngines()): Promise<Served> {
  const config = loadConfig({
    MODELS_DIR: mkdtempSync(join(tmpdir(), 'earshot-fake-models-')),
    UPLOAD_DIR: mkdtempSync(join(tmpdir(), 'earshot-fake-uploads-')),
    DATA_DIR: mkdtempSync(join(tmpdir(), 'earshot-fake-data-')),
    LOG_LEVEL: 'error',
    RATE_LIMIT_PER_MIN: '0',
    DEFAULT_STT_MODEL: 'whisper-tiny',
    ...env,
  });
  const app = await createApp(config, { startEngine: engines.start });
  await app.listen(0, '127.0.0.1');
  return { url: `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`, app };
}

function processForm(request: unknown, audio: Blob | null = new Blob([readFileSync(JFK)])): FormData {
  const form = new FormData();
  if (audio) form.append('audio', audio, 'jfk.wav');
  form.append('request_json', typeof request === 'string' ? request : JSON.stringify(request));
  return form;
}

const TRANSCRIBE = { settings: { tasks: ['transcribe'], tra: { language: 'en' } } };

function post(url: string, body: FormData | string, key?: string) {
  return call(`${url}/v1/process`, { method: 'POST', body, headers: key ? { 'x-api-key': key } : {} });
}

test('the HTTP thread loads neither onnxruntime nor any file of src/engine', () => {
  const script = `
    require('./src/server/app');
    const loaded = Object.keys(require.cache).filter((f) => /onnxruntime|[\\\\/]src[\\\\/]engine[\\\\/]/.test(f));
    process.stdout.write(JSON.stringify(loaded));`;
  const out = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual([]);
});

describe('without API keys', () => {
  let server: Served;
  let failWith: Error | null = null;

  beforeAll(async () => {
    server = await serve(
      {},
      fakeEngines(() => ({
        process: async () => {
          if (failWith) throw failWith;
          return fakeResult(11, 'and so my fellow americans');
        },
      })),
    );
  });

  afterAll(async () => {
    await server?.app.close();
  });

  test("a valid request gets the engine's result in the api.md envelope", async () => {
    const res = await post(server.url, processForm(TRANSCRIBE));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: 'completed', audio: { duration_s: 11 }, result: { tra: { text: 'and so my fellow americans' } } });
  });

  test('bad requests get their JSON errors before reaching the engine', async () => {
    const notMultipart = await call(`${server.url}/v1/process`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect([notMultipart.status, notMultipart.json.error.code]).toEqual([400, 'invalid_request']);
    const badJson = await post(server.url, processForm('{"settings":'));
    expect([badJson.status, badJson.json.error.code]).toEqual([400, 'invalid_request']);
    const badTask = await post(server.url, processForm({ settings: { tasks: ['dance'] } }));
    expect([badTask.status, badTask.json.error.code]).toEqual([422, 'invalid_settings']);
    const noAudio = await post(server.url, processForm(TRANSCRIBE, null));
    expect([noAudio.status, noAudio.json.error.code]).toEqual([400, 'invalid_request']);
  });

  test('models come from the engine: listed by /v1/models, unknown ones refused with the same message as before', async () => {
    const models = await call(`${server.url}/v1/models`);
    expect(models.status).toBe(200);
    expect(models.json.data.map((m: { id: string; kind: string; loaded: boolean }) => [m.id, m.kind, m.loaded])).toEqual([
      ['whisper-tiny', 'stt', false],
      ['earshot-robust', 'emotion', false],
    ]);
    const unknown = await post(server.url, processForm({ settings: { tasks: ['transcribe'], tra: { model: 'whisper-huge' } } }));
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toEqual({ code: 'model_not_found', message: 'model "whisper-huge" is not installed (GET /v1/models lists the installed ones)' });
    const emotion = await post(server.url, processForm({ settings: { tasks: ['emotion'], emo: { model: 'nope' } } }));
    expect(emotion.json.error.code).toBe('model_not_found');
  });

  test('an engine error code maps to its HTTP status; an unexpected failure is a 500', async () => {
    const cases: Array<[Error, number, string]> = [
      [new EarshotError('unsupported_audio', 'ffmpeg could not decode the audio'), 415, 'unsupported_audio'],
      [new EarshotError('audio_too_long', 'the audio is longer than 40 s'), 413, 'audio_too_long'],
      [new EarshotError('timeout', 'cancelled'), 503, 'timeout'],
      [new Error('segfault in a kernel'), 500, 'internal'],
    ];
    for (const [error, status, code] of cases) {
      failWith = error;
      const res = await post(server.url, processForm(TRANSCRIBE));
      expect([res.status, res.json.error.code]).toEqual([status, code]);
    }
    failWith = null;
    expect((await call(`${server.url}/health`)).status).toBe(200);
  });
});

describe('with API keys', () => {
  let server: Served;
  const dir = mkdtempSync(join(tmpdir(), 'earshot-fake-keys-'));
  const keysFile = join(dir, 'keys.json');
  writeFileSync(
    keysFile,
    JSON.stringify([
      { name: 'full', key: 'full-0123456789' },
      { name: 'reader', key: 'reader-0123456789', scopes: ['jobs:read'] },
    ]),
  );

  beforeAll(async () => {
    server = await serve({ API_KEYS_FILE: keysFile });
  });

  afterAll(async () => {
    await server?.app.close();
  });

  test('no key → 401, a wrong key → 401, a key without the scope → 403, the right key → 200', async () => {
    const none = await post(server.url, processForm(TRANSCRIBE));
    expect([none.status, none.json.error.code]).toEqual([401, 'unauthorized']);
    const wrong = await post(server.url, processForm(TRANSCRIBE), 'nobody-0123456789');
    expect([wrong.status, wrong.json.error.code]).toEqual([401, 'unauthorized']);
    const reader = await post(server.url, processForm(TRANSCRIBE), 'reader-0123456789');
    expect([reader.status, reader.json.error.code]).toEqual([403, 'forbidden']);
    expect((await post(server.url, processForm(TRANSCRIBE), 'full-0123456789')).status).toBe(200);
    expect((await call(`${server.url}/v1/models`, { headers: { 'x-api-key': 'reader-0123456789' } })).status).toBe(200);
    expect((await call(`${server.url}/health`)).status).toBe(200);
  });
});

describe.each(jobBackends())('background jobs on the %s backend', (_name, backendEnv) => {
  let server: Served;
  const dir = mkdtempSync(join(tmpdir(), 'earshot-fake-budget-'));
  const keysFile = join(dir, 'keys.json');
  // Every key may use 5 audio seconds an hour; each run is 11 s of audio, so one run uses up a key's hour.
  const keys = ['alice', 'bob', 'carol'].map((name) => ({ name, key: `${name}-0123456789`, audio_seconds_per_hour: 5 }));
  writeFileSync(keysFile, JSON.stringify(keys));

  beforeAll(async () => {
    if (backendEnv.REDIS_URL) await flushRedis(backendEnv.REDIS_URL);
    server = await serve(
      { ...backendEnv, API_KEYS_FILE: keysFile, JOB_CONCURRENCY: '1' },
      fakeEngines(() => ({
        // Long enough that bob's job is queued while alice's runs, and starts when hers ends.
        process: async () => {
          await new Promise((r) => setTimeout(r, 300));
          return fakeResult(11);
        },
      })),
    );
  });

  afterAll(async () => {
    await server?.app.close();
  });

  test('each job charges the key that submitted it, whatever started its run', async () => {
    const submit = async (key: string) => {
      const res = await post(server.url, processForm({ ...TRANSCRIBE, async_process: true }), key);
      expect(res.status).toBe(202);
      return res.json.job_id as string;
    };
    const ids = [await submit('alice-0123456789'), await submit('bob-0123456789')];
    for (const id of ids) {
      const deadline = Date.now() + 20_000;
      let job = await call(`${server.url}/v1/jobs/${id}`, { headers: { 'x-api-key': 'carol-0123456789' } });
      while (job.json.status !== 'completed' && job.json.status !== 'failed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        job = await call(`${server.url}/v1/jobs/${id}`, { headers: { 'x-api-key': 'carol-0123456789' } });
      }
      expect(job.json.status).toBe('completed');
    }
    // The budget is checked before a run: a key whose hour is used up is refused.
    const after = async (key: string) => (await post(server.url, processForm(TRANSCRIBE), key)).status;
    expect(await after('alice-0123456789')).toBe(429);
    expect(await after('bob-0123456789')).toBe(429);
    expect(await after('carol-0123456789')).toBe(200);
  });
});
