import { powersetToActivity, windowStarts } from '../../src/core/diarization/diarizer';
import { diarizationOptions } from '../../src/core/diarization/settings';
import { linkLocalSpeakers } from '../../src/core/diarization/tracks';
import { speakerTurns } from '../../src/core/diarization/turns';
import { EarshotError } from '../../src/core/errors';

test('windows step through the audio and the last one ends with it', () => {
  expect(windowStarts(50000, 160000, 16000)).toEqual([0]);
  expect(windowStarts(160000, 160000, 16000)).toEqual([0]);
  expect(windowStarts(200000, 160000, 16000)).toEqual([0, 16000, 32000, 40000]);
});

test('powerset classes become per-local-speaker bits', () => {
  const powerset = [[], [0], [1], [2], [0, 1], [0, 2], [1, 2]];
  const logProbs = new Float32Array(3 * 7).fill(-10);
  logProbs[0] = -0.1; // silence
  logProbs[7 + 4] = -0.1; // {0,1}
  logProbs[14 + 3] = -0.1; // {2}
  const out = new Uint8Array(3);
  powersetToActivity(logProbs, 3, powerset, out);
  expect(Array.from(out)).toEqual([0, 0b011, 0b100]);
});

test('local speakers agreeing in the shared frames become one track; co-active ones are marked as different', () => {
  const F = 6;
  // Window 0 frames 0–5, window 1 shifted by 2 frames. Speaker 0 of w0 = speaker 1 of w1.
  const activity = Uint8Array.from([1, 1, 1, 1, 3, 3, /* w1 */ 2, 2, 6, 6, 4, 4]);
  const tracks = linkLocalSpeakers(activity, [0, 2], F, 3, 0.5);
  expect(tracks.ofNode[0]).toBe(tracks.ofNode[3 + 1]);
  expect(tracks.ofNode[1]).toBe(tracks.ofNode[3 + 2]);
  expect(tracks.ofNode[2]).toBe(-1);
  expect(tracks.count).toBe(2);
  expect(tracks.concurrent).toEqual([[0, 1]]);
});

test('frame runs become labelled turns; short gaps filled, short turns dropped', () => {
  const timing = { frameStartS: (g: number) => g * 0.1, durationS: 3, minDurationOnS: 0.25, minDurationOffS: 0.15 };
  const turns = speakerTurns(
    [
      { cluster: 5, startFrame: 10, endFrame: 20 },
      { cluster: 5, startFrame: 21, endFrame: 25 },
      { cluster: 2, startFrame: 0, endFrame: 8 },
      { cluster: 3, startFrame: 26, endFrame: 28 },
      { cluster: 2, startFrame: 29, endFrame: 40 },
    ],
    timing,
  );
  // 2.0–2.1 is filled; 2.6–2.8 and 2.9–3.0 (cut at the end of the audio) are too short.
  expect(turns).toEqual([
    { start: 0, end: 0.8, speaker: 'SPEAKER_00' },
    { start: 1, end: 2.5, speaker: 'SPEAKER_01' },
  ]);
});

test('dia settings: impossible counts are invalid_settings', () => {
  expect(diarizationOptions({})).toEqual({ numSpeakers: null, minSpeakers: null, maxSpeakers: null, stereoMode: false });
  expect(diarizationOptions({ num_speakers: 3, min_speakers: 2, max_speakers: null, stereo_mode: true }))
    .toEqual({ numSpeakers: 3, minSpeakers: 2, maxSpeakers: null, stereoMode: true });
  for (const bad of [{ num_speakers: 0 }, { num_speakers: 21 }, { min_speakers: 4, max_speakers: 3 }, { num_speakers: 5, max_speakers: 4 }, { max_speakers: 1.5 }]) {
    expect(() => diarizationOptions(bad)).toThrow(EarshotError);
  }
});
