/**
 * Emotion through POST /v1/process with the committed heads (found without MODELS_DIR pointing at them), the real
 * whisper-base encoder and real audio: DEV accuracy on acted clips, ordinary read speech coming out neutral, silence,
 * level counts, the combined request, bad settings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeWavPcm16, parseWav } from '../../libs/audio/wav';
import { FOUR_CLASS_LABELS } from '../../src/engine/core/emotion/labels';
import { getJson, manifest, postProcess, startServer, TESTDATA, type TestServer } from '../support/server';

let server: TestServer;
const emotionClips = manifest().filter((e) => e.task === 'emotion');
const angry = emotionClips.find((e) => e.reference === 'angry')!;
const ANGRY = join(TESTDATA, angry.path);

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.close();
});

function emotionRequest(emo: Record<string, unknown>, tasks = ['emotion'], extra: Record<string, unknown> = {}) {
  return { settings: { tasks, tra: { language: 'en' }, emo }, ...extra };
}

function samplesOf(path: string): Float32Array {
  const pcm = parseWav(readFileSync(path));
  return pcm.samples;
}

test('the built-in heads are listed as installed emotion models', async () => {
  const models = await getJson(`${server.url}/v1/models`);
  expect(models.data).toEqual(
    expect.arrayContaining(['earshot-robust', 'earshot-ravdess'].map((id) => expect.objectContaining({ id, kind: 'emotion', source: 'builtin' }))),
  );
});

test('DEV actors 01–04: four-class accuracy of the default head is at least 75%', async () => {
  const four = emotionClips.filter((e) => (FOUR_CLASS_LABELS as readonly string[]).includes(e.reference));
  expect(four.length).toBeGreaterThanOrEqual(20);
  let right = 0;
  for (const clip of four) {
    const res = await postProcess(server.url, join(TESTDATA, clip.path), emotionRequest({ analysis_level: 'file' }));
    expect(res.status).toBe(200);
    const { file, level, model } = res.json.result.emo;
    expect({ level, model }).toEqual({ level: 'file', model: 'earshot-robust' });
    const sum = Object.values(file.scores as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 2);
    const predicted = FOUR_CLASS_LABELS.reduce((a, b) => (file.scores[b] > file.scores[a] ? b : a));
    if (predicted === clip.reference) right++;
  }
  expect(right / four.length).toBeGreaterThanOrEqual(0.75);
});

test('DEV read speech (audiobooks, news-style reading, 8 languages) comes out neutral or calm, where the old head heard anger', async () => {
  const read = manifest().filter((e) => e.task === 'stt' && !e.path.includes('originals'));
  expect(read.length).toBeGreaterThanOrEqual(15);
  const labels: Record<string, { robust: string; four: string; old: string }> = {};
  for (const clip of read) {
    const path = join(TESTDATA, clip.path);
    const robust = (await postProcess(server.url, path, emotionRequest({ analysis_level: 'file' }))).json.result.emo.file;
    const old = (await postProcess(server.url, path, emotionRequest({ analysis_level: 'file', model: 'earshot-ravdess' }))).json.result.emo.file;
    const four = FOUR_CLASS_LABELS.reduce((a, b) => (robust.scores[b] > robust.scores[a] ? b : a));
    labels[clip.path] = { robust: robust.label, four, old: old.label };
  }
  const share = (test: (l: { robust: string; four: string; old: string }) => boolean) => Object.values(labels).filter(test).length / read.length;
  // Measured on these clips (npm run bench:emotion): the new head labels all 18 neutral, also in the 4-class view; the
  // old head said angry for 12 and neutral for none. The targets for read speech: 80% and 75%.
  expect(share((l) => l.robust === 'neutral' || l.robust === 'calm')).toBeGreaterThanOrEqual(0.8);
  expect(share((l) => l.four === 'neutral')).toBeGreaterThanOrEqual(0.75);
  expect(share((l) => l.robust === 'angry')).toBeLessThan(share((l) => l.old === 'angry'));
});

test('silence gives a result flagged low-confidence, not an error', async () => {
  const silence = encodeWavPcm16(new Float32Array(3 * 16000), 16000);
  const res = await postProcess(server.url, silence, emotionRequest({ analysis_level: 'file' }), 'silence.wav');
  expect(res.status).toBe(200);
  expect(res.json.result.emo.file).toMatchObject({ low_confidence: true, label: expect.any(String) });
  expect(res.json.result.emo.items[0].low_confidence).toBe(true);
  const speech = await postProcess(server.url, ANGRY, emotionRequest({ analysis_level: 'file' }));
  expect(speech.json.result.emo.file.low_confidence).toBeUndefined();
});

test('levels: file gives one item, segment one per speech region, word one per transcript word', async () => {
  // Two clips with 9 s of silence between them: two speech regions, too far apart to share an item (at most 8 s).
  const a = samplesOf(ANGRY);
  const b = samplesOf(join(TESTDATA, emotionClips.find((e) => e.reference === 'sad')!.path));
  const gap = 9 * 16000;
  const two = new Float32Array(a.length + gap + b.length);
  two.set(a);
  two.set(b, a.length + gap);
  const wav = encodeWavPcm16(two, 16000);
  const file = await postProcess(server.url, wav, emotionRequest({ analysis_level: 'file' }), 'two.wav');
  expect(file.json.result.emo.items).toHaveLength(1);
  const segment = await postProcess(server.url, wav, emotionRequest({ analysis_level: 'segment' }), 'two.wav');
  const items = segment.json.result.emo.items;
  expect(items).toHaveLength(2);
  expect(items[0].end).toBeLessThan(items[1].start);
  expect(items[1].start).toBeGreaterThan(a.length / 16000);

  const word = await postProcess(server.url, ANGRY, emotionRequest({ analysis_level: 'word' }, ['transcribe', 'emotion']));
  expect(word.status).toBe(200);
  const words = word.json.result.tra.segments.flatMap((s: any) => s.words);
  expect(words.length).toBeGreaterThanOrEqual(5);
  expect(word.json.result.emo.items).toHaveLength(words.length);
  expect(word.json.result.segments.flatMap((s: any) => s.words).every((w: any) => typeof w.emotion === 'string')).toBe(true);
});

test('transcribe + emotion: both results and the merged segments carrying emotion; subtitles tag it', async () => {
  const res = await postProcess(server.url, ANGRY, emotionRequest({ analysis_level: 'segment' }, ['transcribe', 'emotion']));
  expect(res.status).toBe(200);
  const { tra, emo, segments } = res.json.result;
  expect(tra.text.toLowerCase()).toMatch(/door/);
  expect(emo.items).toHaveLength(tra.segments.length);
  expect(segments).toHaveLength(tra.segments.length);
  expect(segments[0]).toMatchObject({ text: tra.segments[0].text, emotion: emo.items[0].label });
  expect(res.json.timings_ms).toMatchObject({ transcribe: expect.any(Number), emotion: expect.any(Number) });

  const srt = await postProcess(server.url, ANGRY, emotionRequest({}, ['transcribe', 'emotion'], { format_output: 'srt' }));
  expect(srt.status).toBe(200);
  expect(srt.text).toMatch(/\((neutral|calm|happy|sad|angry|fearful|disgust|surprised)\) \S/);
});

test('bad emotion settings: unknown level 400, unknown model 404', async () => {
  const level = await postProcess(server.url, ANGRY, emotionRequest({ analysis_level: 'paragraph' }));
  expect({ status: level.status, code: level.json.error.code }).toEqual({ status: 400, code: 'invalid_request' });
  expect(level.json.error.message).toMatch(/analysis_level/);
  const model = await postProcess(server.url, ANGRY, emotionRequest({ model: 'no-such-model' }));
  expect({ status: model.status, code: model.json.error.code }).toEqual({ status: 404, code: 'model_not_found' });
  const ok = await postProcess(server.url, ANGRY, emotionRequest({}));
  expect(ok.status).toBe(200);
});

test('word level without the transcribe task transcribes for the timing and reports emotion only', async () => {
  const word = await postProcess(server.url, ANGRY, emotionRequest({ analysis_level: 'word' }));
  expect(word.status).toBe(200);
  expect(word.json.result.tra).toBeUndefined();
  expect(word.json.result.emo.items.length).toBeGreaterThan(0);
});
