/**
 * All three tasks in one request on a real two-speaker DEV clip: transcription, diarization and emotion run on the
 * same decoded audio and come back merged, per segment and per word, in JSON and in the subtitle formats.
 */
import { join } from 'node:path';
import { postProcess, startServer, TESTDATA, type TestServer } from '../support/server';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.close();
});

const CLIP = join(TESTDATA, 'diarization', 'pyannote_sample.wav');

interface MergedWord {
  word: string;
  start: number;
  end: number;
  speaker?: string;
  emotion?: string;
}
interface Merged {
  start: number;
  end: number;
  text: string;
  speaker?: string;
  emotion?: string;
  words: MergedWord[];
}

test('transcribe + diarization + emotion (word level): every segment and word carries a speaker and an emotion', async () => {
  const settings = { tasks: ['transcribe', 'diarization', 'emotion'], tra: { language: 'en' }, emo: { analysis_level: 'word' } };
  const res = await postProcess(server.url, CLIP, { settings });
  expect(res.status).toBe(200);
  const { tra, dia, emo, segments } = res.json.result as {
    tra: { segments: Array<{ words: unknown[] }> };
    dia: { turns: Array<{ speaker: string }>; num_speakers: number };
    emo: { level: string; items: unknown[]; file: { label: string } };
    segments: Merged[];
  };
  expect(Object.keys(res.json.timings_ms)).toEqual(expect.arrayContaining(['transcribe', 'diarization', 'emotion']));
  expect(dia.num_speakers).toBe(2);
  expect(emo.level).toBe('word');
  const transcriptWords = tra.segments.flatMap((s) => s.words).length;
  expect(emo.items.length).toBe(transcriptWords);

  const speakers = new Set(dia.turns.map((t) => t.speaker));
  const labels = new Set(Object.keys((res.json.result.emo.file as { scores: Record<string, number> }).scores));
  expect(segments.flatMap((s) => s.words).length).toBe(transcriptWords);
  let previousStart = -Infinity;
  for (const s of segments) {
    expect(speakers.has(s.speaker!)).toBe(true);
    expect(labels.has(s.emotion!)).toBe(true);
    expect(s.start).toBeGreaterThanOrEqual(previousStart);
    previousStart = s.start;
    for (const w of s.words) {
      expect(w.speaker).toBe(s.speaker);
      expect(labels.has(w.emotion!)).toBe(true);
    }
  }
  expect(new Set(segments.map((s) => s.speaker)).size).toBe(2);

  const srt = await postProcess(server.url, CLIP, { settings, format_output: 'srt' });
  expect(srt.status).toBe(200);
  const tagged = srt.text.match(/^\[SPEAKER_0[01]\] \([a-z]+\) \S/gm) ?? [];
  expect(tagged.length).toBe(segments.length);

  // The same result rendered again by POST /v1/render (as the playground's downloads do, without word lists) gives
  // the same subtitles as format_output did.
  const withoutWords = { ...res.json.result, segments: segments.map(({ words, ...rest }) => rest) };
  const rendered = await render('srt', { request_id: res.json.request_id, result: withoutWords });
  expect(rendered.status).toBe(200);
  expect(rendered.headers.get('content-type')).toContain('application/x-subrip');
  expect(await rendered.text()).toBe(srt.text);
  const rttm = await render('rttm', { request_id: 'meeting-1', result: res.json.result });
  expect((await rttm.text()).split('\n').filter((l) => l.startsWith('SPEAKER meeting-1 1 ')).length).toBe(dia.turns.length);
});

function render(format: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}/v1/render?format=${format}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

test('POST /v1/render refuses an unknown format, a body that is not a result, and a result without what the format needs', async () => {
  const transcript = { tra: { text: 'Hello there.', segments: [{ start: 0, end: 1.5, text: 'Hello there.' }] } };
  const cases: Array<[string, unknown, number, string]> = [
    ['docx', { result: transcript }, 400, 'format must be one of'],
    ['srt', { result: { tra: { text: 'x', segments: [{ start: 'zero', end: 1, text: 'x' }] } } }, 400, 'result.tra.segments.0.start'],
    ['srt', [1, 2], 400, 'must be a JSON object'],
    ['vtt', { result: {} }, 422, 'needs result.tra'],
    ['rttm', { result: transcript }, 422, 'needs result.dia'],
  ];
  for (const [format, body, status, message] of cases) {
    const res = await render(format, body);
    expect([format, res.status]).toEqual([format, status]);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(message);
  }
  const ok = await render('vtt', { result: transcript });
  expect(await ok.text()).toMatch(/^WEBVTT\s+1\s+00:00:00\.000 --> 00:00:01\.500\s+Hello there\./);
});
