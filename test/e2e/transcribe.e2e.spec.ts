/**
 * Speech-to-text end to end: the real service on a random port, the real whisper-tiny model, real recorded
 * speech from ../shared/testdata with its reference transcripts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSync } from 'subtitle';
import { characterErrors, normalizeForWer, wordErrors } from '../../libs/text/wer';
import { manifest, postProcess, startServer, TESTDATA, type TestServer } from '../support/server';

const stt = manifest().filter((f) => f.task === 'stt');
const englishWavs = stt.filter((f) => f.language === 'en' && f.path.endsWith('.wav'));
const LONG_CLIP = stt.find((f) => f.path.startsWith('stt/long/'))!;
const JFK = stt.find((f) => f.path === 'stt/en/jfk.wav')!;

let server: TestServer;
const tmp = mkdtempSync(join(tmpdir(), 'earshot-e2e-'));

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.close();
});

async function transcribe(path: string, tra: Record<string, unknown> = {}) {
  const res = await postProcess(server.url, path, { settings: { tasks: ['transcribe'], tra } });
  expect(res.status).toBe(200);
  return res.json;
}

test('English set: WER of whisper-tiny is at most 10%', async () => {
  let edits = 0;
  let words = 0;
  const lines: string[] = [];
  for (const clip of englishWavs) {
    const body = await transcribe(join(TESTDATA, clip.path), { language: 'en' });
    const e = wordErrors(clip.reference, body.result.tra.text);
    edits += e.edits;
    words += e.words;
    lines.push(`${clip.path}: ${e.edits}/${e.words} | ${body.result.tra.text}`);
  }
  const wer = edits / words;
  console.log(`English WER ${(wer * 100).toFixed(2)}% over ${englishWavs.length} clips\n${lines.join('\n')}`);
  expect(englishWavs.length).toBeGreaterThanOrEqual(10);
  expect(wer).toBeLessThanOrEqual(0.1);
});

test('the response has the api.md shape', async () => {
  const body = await transcribe(join(TESTDATA, JFK.path));
  expect(body).toMatchObject({
    status: 'completed',
    request_id: expect.any(String),
    audio: { duration_s: expect.closeTo(11, 1), sample_rate: 16000, channels: 1 },
    timings_ms: { decode: expect.any(Number), transcribe: expect.any(Number), total: expect.any(Number) },
    result: { tra: { language: 'en', text: expect.any(String), segments: expect.any(Array) } },
  });
  expect(Object.keys(body.result)).toEqual(['tra']);
  const seg = body.result.tra.segments[0];
  expect(seg).toMatchObject({ id: 0, start: expect.any(Number), end: expect.any(Number), avg_logprob: expect.any(Number), no_speech_prob: expect.any(Number) });
  expect(wordErrors(JFK.reference, body.result.tra.text).edits).toBeLessThanOrEqual(1);
});

const nonEnglish = stt.filter((f) => f.language !== 'en');
/** whisper-tiny is accurate on these; on es, it, ru it mostly gets the language right and the words wrong. */
const ACCURATE_LANGUAGES: Record<string, number> = { de: 0.05, fr: 0.15, pt: 0.15 };

test.each(nonEnglish.map((f) => [f.language, f.path]))('non-English clip (%s): language detected, text close to the reference', async (language, path) => {
  const clip = stt.find((f) => f.path === path)!;
  const body = await transcribe(join(TESTDATA, path), { language: 'auto' });
  expect(body.result.tra.language).toBe(language);
  expect(body.result.tra.language_prob).toBeGreaterThan(0.5);
  const e = characterErrors(clip.reference, body.result.tra.text);
  if (language in ACCURATE_LANGUAGES) expect(e.edits / e.characters).toBeLessThan(ACCURATE_LANGUAGES[language]);
  else expect(body.result.tra.text.length).toBeGreaterThan(0);
});

test('an initial prompt in simplified Chinese steers the output script', async () => {
  const clip = stt.find((f) => f.language === 'zh')!;
  const plain = (await transcribe(join(TESTDATA, clip.path), { language: 'zh' })).result.tra.text;
  const prompted = (await transcribe(join(TESTDATA, clip.path), { language: 'zh', initial_prompt: '以下是普通话的句子。' })).result.tra.text;
  // Reference: 广州市房地产中介协会分析. Without a prompt tiny writes traditional 產/會.
  expect(plain).toMatch(/[產會]/);
  expect(prompted).not.toMatch(/[產會]/);
  expect(prompted).toContain('地产');
  // The script is what the prompt steers; the other characters may change either way (8 edits both ways here).
  expect(characterErrors(clip.reference, prompted).edits).toBeLessThanOrEqual(characterErrors(clip.reference, plain).edits);
});

test('mp3, flac and ogg/opus give the same text as the WAV', async () => {
  const wavText = normalizeForWer((await transcribe(join(TESTDATA, JFK.path), { language: 'en' })).result.tra.text);
  const opus = join(tmp, 'jfk.ogg');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', join(TESTDATA, JFK.path), '-c:a', 'libopus', '-b:a', '48k', opus]);
  const m4a = join(tmp, 'jfk.m4a');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', join(TESTDATA, JFK.path), '-c:a', 'aac', '-b:a', '96k', m4a]);
  for (const path of [join(TESTDATA, 'stt/originals/jfk.mp3'), opus, m4a]) {
    const text = normalizeForWer((await transcribe(path, { language: 'en' })).result.tra.text);
    expect(wordErrors(wavText, text).edits).toBeLessThanOrEqual(1);
  }
  const flacClip = stt.find((f) => f.format === 'flac')!;
  const fromWav = (await transcribe(join(TESTDATA, flacClip.same_content_as!), { language: 'en' })).result.tra.text;
  const fromFlac = (await transcribe(join(TESTDATA, flacClip.path), { language: 'en' })).result.tra.text;
  expect(normalizeForWer(fromFlac)).toBe(normalizeForWer(fromWav));
});

test('44.1 kHz stereo and 8 kHz WAV are resampled and give the reference text', async () => {
  for (const [rate, channels] of [
    ['44100', '2'],
    ['8000', '1'],
  ]) {
    const path = join(tmp, `jfk-${rate}-${channels}.wav`);
    execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', join(TESTDATA, JFK.path), '-ar', rate, '-ac', channels, '-c:a', 'pcm_s24le', path]);
    const body = await transcribe(path, { language: 'en' });
    expect(body.audio).toMatchObject({ sample_rate: Number(rate), channels: Number(channels) });
    expect(wordErrors(JFK.reference, body.result.tra.text).edits / wordErrors(JFK.reference, '').words).toBeLessThan(0.15);
  }
});

test('long clip: sane, increasing timestamps within the audio, word timings inside their segments', async () => {
  const body = await transcribe(join(TESTDATA, LONG_CLIP.path), { language: 'en', word_timestamps: true });
  const segments = body.result.tra.segments as Array<{ start: number; end: number; text: string; words: Array<{ start: number; end: number; word: string }> }>;
  expect(segments.length).toBeGreaterThanOrEqual(4);
  let previousEnd = 0;
  for (const s of segments) {
    expect(s.start).toBeGreaterThanOrEqual(previousEnd - 0.001);
    expect(s.end).toBeGreaterThan(s.start);
    expect(s.end).toBeLessThanOrEqual(LONG_CLIP.duration_s + 0.01);
    previousEnd = s.end;
    expect(s.words.length).toBeGreaterThan(0);
    let wordEnd = s.start;
    for (const w of s.words) {
      expect(w.start).toBeGreaterThanOrEqual(wordEnd - 0.001);
      expect(w.end).toBeGreaterThanOrEqual(w.start);
      expect(w.end).toBeLessThanOrEqual(s.end + 0.001);
      wordEnd = w.end;
    }
    expect(normalizeForWer(s.words.map((w) => w.word).join(' '))).toBe(normalizeForWer(s.text));
  }
  // The speech runs to the end of the clip: the last segment ends near it.
  expect(previousEnd).toBeGreaterThan(LONG_CLIP.duration_s - 5);
  const e = wordErrors(LONG_CLIP.reference, body.result.tra.text);
  expect(e.edits / e.words).toBeLessThan(0.15);
});

test('word timestamps follow the speech: the manifest utterance times of the long clip', async () => {
  const utterances = LONG_CLIP.segments!;
  const body = await transcribe(join(TESTDATA, LONG_CLIP.path), { language: 'en', word_timestamps: true });
  const words = body.result.tra.segments.flatMap((s: { words: Array<{ word: string; start: number }> }) => s.words);
  // The first word of each utterance starts within 0.6 s of the utterance's reference start.
  let matched = 0;
  for (const u of utterances) {
    const first = normalizeForWer(u.text).split(' ')[0];
    const candidate = words.find((w: { word: string; start: number }) => normalizeForWer(w.word) === first && Math.abs(w.start - u.start_s) < 0.6);
    if (candidate) matched++;
  }
  expect(matched).toBeGreaterThanOrEqual(Math.ceil(utterances.length * 0.7));
});

test('text, srt and vtt outputs', async () => {
  const text = await postProcess(server.url, join(TESTDATA, LONG_CLIP.path), { settings: { tasks: ['transcribe'] }, format_output: 'text' });
  expect(text.status).toBe(200);
  expect(text.contentType).toMatch(/^text\/plain/);
  expect(wordErrors(LONG_CLIP.reference, text.text).edits / wordErrors(LONG_CLIP.reference, '').words).toBeLessThan(0.15);

  const json = await transcribe(join(TESTDATA, LONG_CLIP.path));
  for (const format of ['srt', 'vtt'] as const) {
    const res = await postProcess(server.url, join(TESTDATA, LONG_CLIP.path), { settings: { tasks: ['transcribe'] }, format_output: format });
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(format === 'srt' ? /application\/x-subrip/ : /text\/vtt/);
    const cues = parseSync(res.text)
      .filter((n) => n.type === 'cue')
      .map((n) => n.data as { start: number; end: number; text: string });
    expect(cues.map((c) => c.text)).toEqual(json.result.tra.segments.map((s: { text: string }) => s.text));
    cues.forEach((c, i) => {
      expect(c.start).toBe(Math.round(json.result.tra.segments[i].start * 1000));
      expect(c.end).toBeGreaterThan(c.start);
      if (i > 0) expect(c.start).toBeGreaterThanOrEqual(cues[i - 1].end);
    });
  }
});

test('beam search, translation and an initial prompt', async () => {
  const beam = await transcribe(join(TESTDATA, JFK.path), { language: 'en', beam_size: 4 });
  expect(wordErrors(JFK.reference, beam.result.tra.text).edits).toBeLessThanOrEqual(1);

  const prompted = await transcribe(join(TESTDATA, JFK.path), { language: 'en', initial_prompt: 'President Kennedy, inaugural address.' });
  expect(wordErrors(JFK.reference, prompted.result.tra.text).edits).toBeLessThanOrEqual(2);

  const german = stt.find((f) => f.language === 'de')!;
  const translated = await transcribe(join(TESTDATA, german.path), { language: 'de', task: 'translate' });
  const original = await transcribe(join(TESTDATA, german.path), { language: 'de' });
  expect(translated.result.tra.text).not.toBe(original.result.tra.text);
  // "Die Werbung vermittelt einen falschen Eindruck." → English words, not German ones.
  expect(normalizeForWer(translated.result.tra.text)).toMatch(/\b(the|a|an|false|wrong|impression|advertising)\b/);
});

test('silence and empty audio give an empty transcript', async () => {
  const silent = join(tmp, 'silence.wav');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-t', '20', silent]);
  for (const vad_filter of [true, false]) {
    const body = await transcribe(silent, { vad_filter });
    expect(body.result.tra.text).toBe('');
    expect(body.result.tra.segments).toEqual([]);
  }
  const empty = join(tmp, 'empty.wav');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-t', '0', empty]);
  const body = await transcribe(empty);
  expect(body.audio.duration_s).toBe(0);
  expect(body.result.tra.text).toBe('');
});

test('concurrent requests with different audio each get their own transcript', async () => {
  const clips = englishWavs.filter((c) => c.duration_s < 12).slice(0, 4);
  const bodies = await Promise.all(clips.map((c) => transcribe(join(TESTDATA, c.path), { language: 'en', word_timestamps: true })));
  bodies.forEach((body, i) => {
    const e = wordErrors(clips[i].reference, body.result.tra.text);
    expect(e.edits / e.words).toBeLessThan(0.3);
    expect(body.audio.duration_s).toBeCloseTo(clips[i].duration_s, 1);
  });
});

test('/health stays responsive while a long file is transcribed (inference never blocks the HTTP thread)', async () => {
  const work = postProcess(server.url, join(TESTDATA, LONG_CLIP.path), { settings: { tasks: ['transcribe'], tra: { word_timestamps: true } } });
  let done = false;
  void work.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 300));
  const latencies: number[] = [];
  while (!done) {
    const t0 = performance.now();
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect((await work).status).toBe(200);
  expect(latencies.length).toBeGreaterThan(5);
  // One model run on the HTTP thread stalls it for over a second; a busy shared CPU only delays the odd answer.
  latencies.sort((a, b) => a - b);
  expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(100);
  expect(latencies[latencies.length - 1]).toBeLessThan(1000);
});
