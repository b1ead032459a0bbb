import { isDigitalSilence, unfinishedTail, widenIntoSilence } from '../../src/engine/core/stt/windows';

const SR = 16000;
const s = (seconds: number) => Math.round(seconds * SR);

describe('widenIntoSilence', () => {
  test('adds up to 0.5 s on each side, half of each gap, clipped to the audio', () => {
    const chunks = [
      { start: s(0.2), end: s(5) },
      { start: s(5.4), end: s(10) },
      { start: s(12), end: s(20) },
    ];
    expect(widenIntoSilence(chunks, s(20.3))).toEqual([
      { start: 0, end: s(5.2) },
      { start: s(5.2), end: s(10.5) },
      { start: s(11.5), end: s(20.3) },
    ]);
  });

  test('never makes a window longer than 30 s', () => {
    const [w] = widenIntoSilence([{ start: s(1), end: s(30.8) }], s(40));
    expect(w.end - w.start).toBeLessThanOrEqual(s(30));
    expect(w.start).toBe(s(0.8));
  });
});

test('isDigitalSilence: zeros and -70 dBFS noise yes, quiet speech-level signal no', () => {
  const samples = new Float32Array(s(3));
  expect(isDigitalSilence(samples, { start: 0, end: s(1) })).toBe(true);
  for (let i = s(1); i < s(2); i++) samples[i] = 0.0003 * Math.sin(i);
  for (let i = s(2); i < s(3); i++) samples[i] = 0.02 * Math.sin(i / 3);
  expect(isDigitalSilence(samples, { start: s(1), end: s(2) })).toBe(true);
  expect(isDigitalSilence(samples, { start: s(2), end: s(3) })).toBe(false);
  expect(isDigitalSilence(samples, { start: 5, end: 5 })).toBe(true);
});

describe('unfinishedTail', () => {
  const frame = 512;
  const chunk = { start: s(100), end: s(125) };
  /** VAD probabilities for the 125 s of audio: speech everywhere but a pause at 117.6-117.9 s. */
  const probs = Float32Array.from({ length: Math.ceil(s(125) / frame) }, (_, f) => {
    const t = (f * frame) / SR;
    return t >= 117.6 && t < 117.9 ? 0.05 : 0.9;
  });

  test('long untranscribed speech after the last timestamp: the tail starts in the pause just before it', () => {
    const tail = unfinishedTail(chunk, 18, probs, frame)!;
    expect(tail.end).toBe(chunk.end);
    expect(tail.start / SR).toBeGreaterThanOrEqual(117.6 - 0.04);
    expect(tail.start / SR).toBeLessThan(117.9);
  });

  test('no tail when little is left, when nothing was covered, or when the rest is silence', () => {
    expect(unfinishedTail(chunk, 23.5, probs, frame)).toBeNull();
    expect(unfinishedTail(chunk, 0.4, probs, frame)).toBeNull();
    expect(unfinishedTail(chunk, 18, new Float32Array(probs.length).fill(0.1), frame)).toBeNull();
  });

  test('without VAD the tail starts at the timestamp', () => {
    expect(unfinishedTail(chunk, 18, null, frame)).toEqual({ start: s(118), end: chunk.end });
  });
});
