import type { DiarizationResult } from '../../libs/contracts/process';
import { cosine, matchVoices, meanVoice, nameSpeakers } from '../../libs/diarization/voiceprint';

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
  expect(near.map((m) => [m.speaker, m.voice.id])).toEqual([['SPEAKER_01', 'a'], ['SPEAKER_03', 'b']]);
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
