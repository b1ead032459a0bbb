import type { DiarizationResult, TranscriptionResult } from '../../libs/contracts/process';
import { renderRttm } from '../../src/server/core/formats/rttm';
import { renderTranscript } from '../../src/server/core/formats/transcript-formats';
import { mergeSegments, speakerAt } from '../../src/engine/core/merge';

const w = (word: string, start: number, end: number) => ({ word, start, end, prob: 0.9 });
const seg = (id: number, start: number, end: number, text: string, words?: ReturnType<typeof w>[]) => ({
  id,
  start,
  end,
  text,
  avg_logprob: -0.2,
  no_speech_prob: 0.01,
  compression_ratio: 1.2,
  temperature: 0,
  ...(words ? { words } : {}),
});
const dia: DiarizationResult = {
  num_speakers: 2,
  turns: [
    { start: 0, end: 2.1, speaker: 'SPEAKER_00' },
    { start: 2, end: 5, speaker: 'SPEAKER_01' },
    { start: 6, end: 8, speaker: 'SPEAKER_00' },
  ],
  speakers: [
    { id: 'SPEAKER_00', total_s: 4.1 },
    { id: 'SPEAKER_01', total_s: 3 },
  ],
  embedder: 'test',
};
const tra: TranscriptionResult = {
  language: 'en',
  language_prob: 1,
  text: 'Hello there. Hi! Bye now.',
  segments: [
    seg(0, 0, 3, ' Hello there. Hi!', [w('Hello', 0.1, 0.6), w('there.', 0.7, 1.9), w('Hi!', 2.2, 2.8)]),
    seg(1, 5.2, 7.5, ' Bye now.', [w('Bye', 5.3, 5.6), w('now.', 6.1, 7.4)]),
  ],
};

test('a word takes the speaker it overlaps most, or the nearest turn in a pause', () => {
  expect(speakerAt(dia.turns, 1.9, 2.6)).toBe('SPEAKER_01');
  expect(speakerAt(dia.turns, 5.3, 5.6)).toBe('SPEAKER_01');
  expect(speakerAt(dia.turns, 5.7, 5.9)).toBe('SPEAKER_00');
  expect(speakerAt([], 0, 1)).toBeUndefined();
});

test('segments are split where the speaker changes, at word boundaries', () => {
  const merged = mergeSegments(tra, dia);
  expect(merged.map((s) => [s.start, s.end, s.text, s.speaker])).toEqual([
    [0.1, 1.9, 'Hello there.', 'SPEAKER_00'],
    [2.2, 2.8, 'Hi!', 'SPEAKER_01'],
    [5.3, 5.6, 'Bye', 'SPEAKER_01'],
    [6.1, 7.4, 'now.', 'SPEAKER_00'],
  ]);
  for (const s of merged) for (const x of s.words!) expect(x.speaker).toBe(s.speaker);
});

test('without diarization (or words) segments keep their bounds and text', () => {
  expect(mergeSegments(tra).map((s) => [s.start, s.end, s.text, s.speaker])).toEqual([
    [0, 3, 'Hello there. Hi!', undefined],
    [5.2, 7.5, 'Bye now.', undefined],
  ]);
  const noWords = { ...tra, segments: [seg(0, 0, 3, ' Hello there.')] };
  expect(mergeSegments(noWords, dia)).toEqual([{ start: 0, end: 3, text: 'Hello there.', speaker: 'SPEAKER_00' }]);
});

test('text, srt and vtt carry the speakers; rttm lists the turns', () => {
  const merged = mergeSegments(tra, dia);
  expect(renderTranscript(tra, 'text', merged).body).toBe('[SPEAKER_00] Hello there.\n[SPEAKER_01] Hi! Bye\n[SPEAKER_00] now.\n');
  expect(renderTranscript(tra, 'srt', merged).body).toContain('[SPEAKER_01] Hi!');
  expect(renderTranscript(tra, 'vtt', merged).body).toContain('<v SPEAKER_00>Hello there.');
  expect(renderTranscript(tra, 'text', mergeSegments(tra)).body).toBe('Hello there. Hi! Bye now.\n');
  expect(renderRttm(dia, 'my file')).toBe(
    'SPEAKER my_file 1 0.000 2.100 <NA> <NA> SPEAKER_00 <NA> <NA>\n' +
      'SPEAKER my_file 1 2.000 3.000 <NA> <NA> SPEAKER_01 <NA> <NA>\n' +
      'SPEAKER my_file 1 6.000 2.000 <NA> <NA> SPEAKER_00 <NA> <NA>\n',
  );
});
