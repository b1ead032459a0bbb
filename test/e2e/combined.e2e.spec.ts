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

interface MergedWord { word: string; start: number; end: number; speaker?: string; emotion?: string }
interface Merged { start: number; end: number; text: string; speaker?: string; emotion?: string; words: MergedWord[] }

test('transcribe + diarization + emotion (word level): every segment and word carries a speaker and an emotion', async () => {
  const settings = { tasks: ['transcribe', 'diarization', 'emotion'], tra: { language: 'en' }, emo: { analysis_level: 'word' } };
  const res = await postProcess(server.url, CLIP, { settings });
  expect(res.status).toBe(200);
  const { tra, dia, emo, segments } = res.json.result as { tra: { segments: Array<{ words: unknown[] }> }; dia: { turns: Array<{ speaker: string }>; num_speakers: number }; emo: { level: string; items: unknown[]; file: { label: string } }; segments: Merged[] };
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
});
