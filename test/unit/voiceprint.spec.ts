import type { DiarizationResult } from '../../libs/contracts/process';
import { cosine, identifiedResult, matchVoices, meanVoice, nameSpeakers, nearestVoice } from '../../libs/diarization/voiceprint';

const voice = (id: string, embedding: number[]) => ({ id, name: id.toUpperCase(), embedding });

test('meanVoice averages unit copies by weight and returns a unit vector', () => {
  const mean = meanVoice([Float32Array.of(10, 0), Float32Array.of(0, 1)], [3, 1]);
  expect(mean[0] / mean[1]).toBeCloseTo(3);
  expect(Math.hypot(...mean)).toBeCloseTo(1);
  expect(meanVoice([], [])).toHaveLength(0);
});

test('cosine is the angle, whatever the lengths; zero vectors score 0', () => {
  expect(cosine([2, 0], [5, 5])).toBeCloseTo(Math.SQRT1_2);
  expect(cosine([0, 0], [1, 0])).toBe(0);
});

test('matchVoices pairs best-first, one name per speaker and one speaker per name, above the threshold only', () => {
  const voices = [voice('a', [1, 0, 0]), voice('b', [0, 1, 0])];
  const speakers = [
    { speaker: 'SPEAKER_00', embedding: [0.9, 0.1, 0] }, // a, but less than SPEAKER_01
    { speaker: 'SPEAKER_01', embedding: [1, 0, 0] }, // a
    { speaker: 'SPEAKER_02', embedding: [0, 0, 1] }, // no one
  ];
  const matches = matchVoices(speakers, voices, 0.5);
  expect(matches.map((m) => [m.speaker, m.voice.id])).toEqual([['SPEAKER_01', 'a']]);
  expect(matches[0].score).toBeCloseTo(1);
  // With b close enough, SPEAKER_00 takes b rather than sharing a.
  const near = matchVoices([...speakers, { speaker: 'SPEAKER_03', embedding: [0.8, 0.6, 0] }], voices, 0.5);
  expect(near.map((m) => [m.speaker, m.voice.id])).toEqual([
    ['SPEAKER_01', 'a'],
    ['SPEAKER_03', 'b'],
  ]);
});

test('nameSpeakers renames the matched speaker in turns and speakers, and leaves the rest', () => {
  const result: DiarizationResult = {
    num_speakers: 2,
    turns: [
      { start: 0, end: 1, speaker: 'SPEAKER_00' },
      { start: 1, end: 2, speaker: 'SPEAKER_01' },
    ],
    speakers: [
      { id: 'SPEAKER_00', total_s: 1 },
      { id: 'SPEAKER_01', total_s: 1 },
    ],
    embedder: 'campplus-zh-en',
  };
  const named = nameSpeakers(result, [{ speaker: 'SPEAKER_01', voice: voice('id-1', [1]), score: 0.81234 }]);
  expect(named.turns.map((t) => t.speaker)).toEqual(['SPEAKER_00', 'ID-1']);
  expect(named.speakers).toEqual([
    { id: 'SPEAKER_00', total_s: 1 },
    { id: 'ID-1', total_s: 1, speaker_id: 'id-1', match_score: 0.812 },
  ]);
});

test('nearestVoice takes the most similar voice at or above the threshold, else none', () => {
  const voices = [voice('a', [1, 0, 0]), voice('b', [0.6, 0.8, 0])];
  expect(nearestVoice([1, 0.2, 0], voices, 0.5)).toEqual({ voice: voices[0], score: expect.closeTo(1 / Math.hypot(1, 0.2)) });
  expect(nearestVoice([0.5, 0.9, 0], voices, 0.5)?.voice.id).toBe('b');
  expect(nearestVoice([0, 0, 1], voices, 0.5)).toBeNull();
  expect(nearestVoice([1, 0, 0], [], 0.5)).toBeNull();
});

test('identifiedResult: per channel, segments of one name close together are one turn; per-name totals and mean scores', () => {
  const a = voice('id-a', [1]);
  const result = identifiedResult(
    [
      [
        { start: 4, end: 5, match: null },
        { start: 0, end: 1, match: { voice: a, score: 0.9 } },
        { start: 1.3, end: 2, match: { voice: a, score: 0.7 } },
        { start: 3, end: 3.5, match: { voice: a, score: 0.7 } },
      ],
      [{ start: 1, end: 2.5, match: null }],
    ],
    'campplus-zh-en',
    0.5,
  );
  expect(result).toEqual({
    num_speakers: 2,
    turns: [
      { start: 0, end: 2, speaker: 'ID-A' },
      { start: 1, end: 2.5, speaker: 'unknown' },
      { start: 3, end: 3.5, speaker: 'ID-A' },
      { start: 4, end: 5, speaker: 'unknown' },
    ],
    speakers: [
      // (1 s · 0.9 + 0.7 s · 0.7 + 0.5 s · 0.7) / 2.2 s
      { id: 'ID-A', total_s: 2.5, speaker_id: 'id-a', match_score: 0.791 },
      { id: 'unknown', total_s: 2.5 },
    ],
    embedder: 'campplus-zh-en',
  });
  expect(identifiedResult([], 'x', 0.5)).toEqual({ num_speakers: 0, turns: [], speakers: [], embedder: 'x' });
});
