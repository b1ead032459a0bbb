/**
 * The routes of the services Earshot replaces (/asr_pure, /transcribe) and the /health fields they reported, on the
 * real service with real speech from ../shared/testdata.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { wordErrors } from '../../libs/text/wer';
import { manifest, startServer, TESTDATA, type TestServer } from '../support/server';

const stt = manifest().filter((f) => f.task === 'stt');
const JFK = stt.find((f) => f.path === 'stt/en/jfk.wav')!;
const TIMIT = stt.find((f) => f.path === 'stt/en/timit_LDC93S1.wav')!;
const CHINESE = stt.find((f) => f.language === 'zh')!;

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.close();
});

function form(field: string, clips: Array<{ path: string }>, extra: Record<string, string> = {}): FormData {
  const body = new FormData();
  for (const clip of clips) body.append(field, new Blob([readFileSync(join(TESTDATA, clip.path))]), clip.path.split('/').pop());
  for (const [k, v] of Object.entries(extra)) body.append(k, v);
  return body;
}

async function post(route: string, body: FormData) {
  const res = await fetch(`${server.url}${route}`, { method: 'POST', body });
  return { status: res.status, json: (await res.json()) as any };
}

test('/asr_pure: one file → {text, status, processing_time_ms}', async () => {
  const { status, json } = await post('/asr_pure', form('file', [JFK]));
  expect(status).toBe(200);
  expect(Object.keys(json).sort()).toEqual(['processing_time_ms', 'status', 'text']);
  expect(json.status).toBe('success');
  expect(Number.isInteger(json.processing_time_ms) && json.processing_time_ms > 0).toBe(true);
  const { edits, words } = wordErrors(JFK.reference, json.text);
  expect(edits / words).toBeLessThanOrEqual(0.1);
});

test('/transcribe: several files, each answered under its key, in order, language detected per file', async () => {
  const { status, json } = await post('/transcribe', form('files', [JFK, CHINESE, TIMIT], { keys: 'speech, mandarin,timit', lang: 'auto' }));
  expect(status).toBe(200);
  expect(json).toMatchObject({ message: 'success', processing_time: expect.any(Number) });
  expect(json.processing_time).toBeGreaterThan(0);
  expect(json.results.map((r: { key: string }) => r.key)).toEqual(['speech', 'mandarin', 'timit']);
  const [jfk, chinese, timit] = json.results.map((r: { text: string }) => r.text);
  expect(wordErrors(JFK.reference, jfk).edits / wordErrors(JFK.reference, jfk).words).toBeLessThanOrEqual(0.1);
  expect(/\p{Script=Han}/u.test(chinese)).toBe(true);
  expect(timit).toMatch(/dark suit/i);
});

test('/transcribe: lang is passed on; keys default to the file names', async () => {
  const { status, json } = await post('/transcribe', form('files', [TIMIT], { lang: 'en' }));
  expect(status).toBe(200);
  expect(json.results).toEqual([{ key: 'timit_LDC93S1.wav', text: expect.stringMatching(/dark suit/i) }]);
});

test('bad legacy requests get Earshot errors and leave the service healthy', async () => {
  const cases: Array<[string, FormData, number, string, RegExp]> = [
    ['/transcribe', form('files', [JFK, TIMIT], { keys: 'only-one' }), 400, 'invalid_request', /keys/],
    ['/transcribe', form('file', [JFK]), 400, 'invalid_request', /"files"/],
    ['/transcribe', form('files', [TIMIT], { lang: 'klingon' }), 422, 'invalid_settings', /klingon/],
    ['/asr_pure', form('file', [JFK, TIMIT]), 400, 'invalid_request', /only one "file"/],
    ['/asr_pure', form('audio', [JFK]), 400, 'invalid_request', /"file"/],
  ];
  for (const [route, body, status, code, message] of cases) {
    const res = await post(route, body);
    expect({ route, status: res.status, code: res.json.error?.code }).toEqual({ route, status, code });
    expect(res.json.error.message).toMatch(message);
  }
  const notAudio = new FormData();
  notAudio.append('file', new Blob([Buffer.from('definitely not audio')]), 'x.wav');
  const res = await post('/asr_pure', notAudio);
  expect({ status: res.status, code: res.json.error.code }).toEqual({ status: 415, code: 'unsupported_audio' });

  const health = (await (await fetch(`${server.url}/health`)).json()) as Record<string, unknown>;
  expect(health).toMatchObject({ status: 'ok', model_status: 'ok' });
  const again = await post('/asr_pure', form('file', [TIMIT]));
  expect(again.json.text).toMatch(/dark suit/i);
});

test('the OpenAPI spec documents the legacy routes', async () => {
  const spec = (await (await fetch(`${server.url}/docs-json`)).json()) as { paths: Record<string, unknown> };
  expect(JSON.stringify(spec.paths['/transcribe'])).toMatch(/keys/);
  expect(JSON.stringify(spec.paths['/asr_pure'])).toMatch(/processing_time_ms/);
});
