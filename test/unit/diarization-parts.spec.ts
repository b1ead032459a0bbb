import { speechExtent } from '../../libs/audio/speech-extent';
import { centred } from '../../libs/cluster/centred';
import { composeConversation } from '../../libs/diarization/conversation';
import { powersetToActivity, windowStarts } from '../../src/engine/core/diarization/diarizer';
import { quietFrames } from '../../src/engine/core/diarization/quiet-frames';
import { diarizationOptions } from '../../src/contract/diarization-settings';
import { labelChannelTranscript } from '../../src/engine/core/diarization/identify';
import { linkLocalSpeakers } from '../../src/engine/core/diarization/tracks';
import { speakerTurns } from '../../src/engine/core/diarization/turns';
import { EarshotError } from '../../src/contract/errors';
import { logSoftmaxRows } from '../../src/engine/models/pyannote-segmentation';

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

test('local speakers agreeing in the shared frames become one track', () => {
  const F = 6;
  // Window 0 frames 0–5, window 1 shifted by 2 frames. Speaker 0 of w0 = speaker 1 of w1.
  const activity = Uint8Array.from([1, 1, 1, 1, 3, 3, /* w1 */ 2, 2, 6, 6, 4, 4]);
  const tracks = linkLocalSpeakers(activity, [0, 2], F, 3, 0.5);
  expect(tracks.ofNode[0]).toBe(tracks.ofNode[3 + 1]);
  expect(tracks.ofNode[1]).toBe(tracks.ofNode[3 + 2]);
  expect(tracks.ofNode[2]).toBe(-1);
  expect(tracks.count).toBe(2);
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
  expect(diarizationOptions({})).toEqual({ mode: 'diarize', numSpeakers: null, minSpeakers: null, maxSpeakers: null, stereoMode: false });
  expect(diarizationOptions({ num_speakers: 3, min_speakers: 2, max_speakers: null, stereo_mode: true })).toEqual({
    mode: 'diarize',
    numSpeakers: 3,
    minSpeakers: 2,
    maxSpeakers: null,
    stereoMode: true,
  });
  for (const bad of [
    { num_speakers: 0 },
    { num_speakers: 21 },
    { min_speakers: 4, max_speakers: 3 },
    { num_speakers: 5, max_speakers: 4 },
    { max_speakers: 1.5 },
  ]) {
    expect(() => diarizationOptions(bad)).toThrow(EarshotError);
  }
});

test('dia.mode: identify needs speakers (400) and takes no counts (422); unknown modes are 400', () => {
  expect(diarizationOptions({ mode: 'identify', speakers: 'all', stereo_mode: true })).toMatchObject({ mode: 'identify', stereoMode: true });
  const failure = (dia: object) => {
    try {
      diarizationOptions(dia);
    } catch (err) {
      return { code: (err as EarshotError).code, message: (err as EarshotError).message };
    }
    return undefined;
  };
  expect(failure({ mode: 'identify' })).toEqual({ code: 'invalid_request', message: expect.stringContaining('needs dia.speakers') });
  expect(failure({ mode: 'identify', speakers: ['alice'], num_speakers: 2 })).toEqual({
    code: 'invalid_settings',
    message: expect.stringContaining('dia.num_speakers'),
  });
  expect(failure({ mode: 'cluster', speakers: ['alice'] })).toEqual({ code: 'invalid_request', message: expect.stringContaining('diarize, identify') });
});

test('quiet frames: digital silence and frames far under the loud level, not quiet speech', () => {
  const step = 100;
  const audio = new Float32Array(40 * step);
  for (let i = 0; i < audio.length; i++) {
    const frame = Math.floor(i / step);
    const amplitude = frame < 10 ? 0.5 : frame < 20 ? 0 : frame < 30 ? 0.5 * 10 ** (-30 / 20) : 0.5 * 10 ** (-60 / 20);
    audio[i] = amplitude * Math.sin(i / 3);
  }
  const quiet = quietFrames(audio, 40, step, step / 2, 50);
  expect(Array.from(quiet.subarray(0, 10))).toEqual(Array(10).fill(0)); // loud
  expect(Array.from(quiet.subarray(11, 20))).toEqual(Array(9).fill(1)); // digital silence
  expect(Array.from(quiet.subarray(21, 30))).toEqual(Array(9).fill(0)); // 30 dB down: still speech-level
  expect(Array.from(quiet.subarray(31, 40))).toEqual(Array(9).fill(1)); // 60 dB down
});

test('speech extent: from the first to the last sustained loud run, ignoring a click in the padding', () => {
  const sr = 1000;
  const audio = new Float32Array(3 * sr);
  audio[200] = 0.9; // a click: one sample, far shorter than the 150 ms run
  for (let i = 1000; i < 2000; i++) audio[i] = 0.5 * Math.sin(i);
  for (let i = 2000; i < 2300; i++) audio[i] = 0.001 * Math.sin(i); // breath, 54 dB down
  expect(speechExtent(audio, sr)).toEqual([1000, 2000]);
  expect(speechExtent(new Float32Array(sr), sr)).toEqual([0, 0]);
});

test('a composed conversation: turns alternate speakers, everyone speaks twice, references are exact', () => {
  const tone = (n: number, v: number) => new Float32Array(n).fill(v);
  const utterances = new Map([
    ['a', [tone(300, 0.1), tone(200, 0.1)]],
    ['b', [tone(250, 0.2)]],
    ['c', [tone(100, 0.3)]],
  ]);
  const { audio, turns } = composeConversation(utterances, { sampleRate: 1000, turns: 8, gapS: [0.3, 0.9], edgeS: 0.5, seed: 4 });
  expect(turns).toHaveLength(8);
  for (let i = 1; i < turns.length; i++) {
    expect(turns[i].speaker).not.toBe(turns[i - 1].speaker);
    const gap = turns[i].start - turns[i - 1].end;
    expect(gap).toBeGreaterThanOrEqual(0.3 - 1e-9);
    expect(gap).toBeLessThanOrEqual(0.9 + 1e-9);
  }
  for (const s of ['a', 'b', 'c']) expect(turns.filter((t) => t.speaker === s).length).toBeGreaterThanOrEqual(2);
  const level = { a: 0.1, b: 0.2, c: 0.3 } as Record<string, number>;
  for (const t of turns) {
    expect(audio[Math.round(t.start * 1000)]).toBeCloseTo(level[t.speaker], 6);
    expect(audio[Math.round(t.end * 1000) - 1]).toBeCloseTo(level[t.speaker], 6);
    expect(audio[Math.round(t.end * 1000)]).toBe(0);
  }
  expect(turns[0].start).toBe(0.5);
  expect(audio.length / 1000 - turns[turns.length - 1].end).toBeCloseTo(0.5, 6);
  expect(composeConversation(utterances, { sampleRate: 1000, turns: 8, gapS: [0.3, 0.9], edgeS: 0.5, seed: 4 }).turns).toEqual(turns);
});

test('centred: the weighted mean is removed and each vector is unit length again', () => {
  const v = [Float32Array.of(1, 0), Float32Array.of(0, 1), Float32Array.of(1, 0)];
  const out = centred(v, [1, 2, 1]);
  // mean = (0.5, 0.5): (0.5, −0.5) and (−0.5, 0.5) normalised.
  expect(Array.from(out[0])).toEqual([Math.SQRT1_2, -Math.SQRT1_2].map((x) => expect.closeTo(x, 6)));
  expect(Array.from(out[1])).toEqual([-Math.SQRT1_2, Math.SQRT1_2].map((x) => expect.closeTo(x, 6)));
  expect(Array.from(centred([Float32Array.of(2, 0)], [1])[0])).toEqual([0, 0]);
});

test('log-softmax rows: logits become log-probabilities; log-probabilities stay as they are', () => {
  const rows = Float32Array.of(1, 2, 3, 0, 0, 0);
  logSoftmaxRows(rows, 3);
  expect(Math.exp(rows[0]) + Math.exp(rows[1]) + Math.exp(rows[2])).toBeCloseTo(1, 6);
  expect(rows[2] - rows[1]).toBeCloseTo(1, 6);
  expect(rows[3]).toBeCloseTo(Math.log(1 / 3), 6);
  const again = Float32Array.from(rows);
  logSoftmaxRows(again, 3);
  for (let i = 0; i < 6; i++) expect(again[i]).toBeCloseTo(rows[i], 6);
});

test("stereo identify: each channel's transcript segments and words take the name of the identified segment they overlap most", () => {
  const alice = { id: 'a1', name: 'alice', embedding: [1] };
  const channels = [
    { channel: 0, segments: [{ start: 0, end: 2, match: { voice: alice, score: 0.8 } }] },
    { channel: 1, segments: [{ start: 1, end: 3, match: null }] },
  ];
  const words = [
    { word: 'hi', start: 0.2, end: 0.5, speaker: 'SPEAKER_00' },
    { word: 'there', start: 2.2, end: 2.4, speaker: 'SPEAKER_00' },
  ];
  const labelled = labelChannelTranscript(
    [
      { start: 0.2, end: 2.4, text: 'hi there', speaker: 'SPEAKER_00', words },
      { start: 1.2, end: 2.8, text: 'yes', speaker: 'SPEAKER_01' },
      { start: 5, end: 6, text: 'later', speaker: 'SPEAKER_01' },
    ],
    channels,
  );
  expect(labelled.map((s) => s.speaker)).toEqual(['alice', 'unknown', 'unknown']);
  // "there" lies past channel 0's identified speech: it keeps its segment's name.
  expect(labelled[0].words?.map((w) => w.speaker)).toEqual(['alice', 'alice']);
});
