/**
 * The client SDK against the real service (real whisper-tiny, real speech from ../shared/testdata): every way to
 * pass audio, the text formats, transcribe(), health(), models(), and the typed errors, timeouts and cancellation.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSync } from 'subtitle';
import { EarshotApiError, EarshotClient, EarshotTimeoutError } from '../../client/src';
import { wordErrors } from '../../libs/text/wer';
import { InferenceClient } from '../../src/server/infra/engine/inference-client';
import { manifest, startServer, TESTDATA, type TestServer } from '../support/server';

const stt = manifest().filter((f) => f.task === 'stt');
const JFK = stt.find((f) => f.path === 'stt/en/jfk.wav')!;
const JFK_MP3 = stt.find((f) => f.path === 'stt/originals/jfk.mp3')!;
const LONG_CLIP = stt.find((f) => f.path.startsWith('stt/long/'))!;
const path = (clip: { path: string }) => join(TESTDATA, clip.path);
const wer = (reference: string, text: string) => wordErrors(reference, text).edits / wordErrors(reference, text).words;

let server: TestServer;
let client: EarshotClient;

beforeAll(async () => {
  server = await startServer();
  client = new EarshotClient({ baseUrl: server.url, apiKey: 'any-key' });
});

afterAll(async () => {
  await server?.close();
});

const EN = { settings: { tasks: ['transcribe' as const], tra: { language: 'en' } } };

test('process() takes a path, a Buffer, a Blob/File, a Node stream and a web stream, and answers the same transcript', async () => {
  const bytes = readFileSync(path(JFK));
  const inputs = [path(JFK), bytes, new File([bytes], 'jfk.wav'), createReadStream(path(JFK)), new Blob([bytes]).stream()];
  const texts: string[] = [];
  for (const audio of inputs) {
    const response = await client.process(audio, EN);
    expect(response).toMatchObject({ status: 'completed', audio: { duration_s: expect.closeTo(11, 0) }, result: { tra: { language: 'en' } } });
    texts.push(response.result.tra!.text);
  }
  expect(wer(JFK.reference, texts[0])).toBeLessThanOrEqual(0.1);
  expect(new Set(texts).size).toBe(1);
});

test('format_output text and srt come back as strings', async () => {
  const text = await client.process(path(JFK_MP3), { ...EN, format_output: 'text' });
  expect(wer(JFK.reference, text)).toBeLessThanOrEqual(0.1);
  const srt = await client.process(path(JFK), { ...EN, format_output: 'srt' });
  const cues = parseSync(srt).filter((n) => n.type === 'cue');
  expect(cues.length).toBeGreaterThan(0);
});

test('transcribe() answers with the transcript, word timings included when asked', async () => {
  const tra = await client.transcribe(path(JFK), { language: 'en', word_timestamps: true });
  expect(wer(JFK.reference, tra.text)).toBeLessThanOrEqual(0.1);
  const words = tra.segments.flatMap((s) => s.words ?? []);
  expect(words.length).toBeGreaterThan(15);
  for (const w of words) expect(w.end).toBeGreaterThanOrEqual(w.start);
});

test('health() and models()', async () => {
  const health = await client.health();
  expect(health).toMatchObject({ status: 'ok', ready: true, model_status: 'ok', default_model: 'whisper-tiny' });
  expect(health.memory_mb.rss).toBeGreaterThan(0);
  const models = await client.models();
  expect(models.data.find((m) => m.id === 'whisper-tiny')).toMatchObject({ kind: 'stt', loaded: true });
});

test('errors are EarshotApiError with the status and code of the API', async () => {
  const cases: Array<[() => Promise<unknown>, number, string]> = [
    [() => client.transcribe(path(JFK), { model: 'whisper-colossal' }), 404, 'model_not_found'],
    [() => client.process(Buffer.from('not audio, only words')), 415, 'unsupported_audio'],
    [() => client.transcribe(path(JFK), { language: 'klingon' }), 422, 'invalid_settings'],
    [() => client.process(path(JFK), { settings: { tasks: ['transcribe'], tra: { beam_size: 99 } } }), 400, 'invalid_request'],
  ];
  for (const [call, status, code] of cases) {
    const err = await call().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EarshotApiError);
    expect({ status: (err as EarshotApiError).status, code: (err as EarshotApiError).code }).toEqual({ status, code });
  }
});

test('a call slower than its timeout fails with EarshotTimeoutError; an aborted call with the abort reason', async () => {
  const slow = await client.process(path(LONG_CLIP), EN, { timeoutMs: 300 }).catch((e: unknown) => e);
  expect(slow).toBeInstanceOf(EarshotTimeoutError);

  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('the user closed the page')), 300);
  await expect(client.process(path(LONG_CLIP), EN, { signal: controller.signal })).rejects.toThrow('the user closed the page');

  expect((await client.transcribe(path(JFK), { language: 'en' })).text).toMatch(/fellow Americans/);
  // The server finishes the work the client gave up on; the test ends (and closes the server) only after it.
  const inference = server.app.get(InferenceClient);
  while (inference.inFlight > 0) await new Promise((r) => setTimeout(r, 100));
});
