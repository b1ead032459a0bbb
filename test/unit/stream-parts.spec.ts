import { resample } from '../../libs/audio/resample';
import { StablePrefix } from '../../src/engine/core/stream/stable-prefix';
import { StreamingResampler } from '../../src/server/core/stream/streaming-resampler';
import { DEFAULT_ENDPOINT_OPTIONS, type EndpointEvent, UtteranceTracker } from '../../src/engine/core/stream/utterance-tracker';
import { pcm16ToFloat } from '../../src/server/core/stream/stream-service';

const F = DEFAULT_ENDPOINT_OPTIONS.frameSamples;

/** Deterministic noise-like test signal. */
function signal(length: number, seed = 1): Float32Array {
  let x = seed;
  return Float32Array.from({ length }, (_, i) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return 0.5 * Math.sin(i / 7) + 0.3 * (x / 2147483648 - 0.5);
  });
}

describe('StreamingResampler', () => {
  it.each([
    [8000, 16000],
    [48000, 16000],
    [44100, 16000],
  ])('gives the samples of a whole-signal resample from %i to %i Hz whatever the piece sizes', (from, to) => {
    const input = signal(from * 2);
    const whole = resample(input, from, to);
    const r = new StreamingResampler(from, to);
    const pieces: Float32Array[] = [];
    const sizes = [1, 7, from / 10, 333, 2, from / 4];
    for (let at = 0, k = 0; at < input.length; k++) {
      const n = sizes[k % sizes.length];
      pieces.push(r.push(input.subarray(at, at + n)));
      at += n;
    }
    pieces.push(r.flush());
    const streamed = Float32Array.from(pieces.flatMap((p) => Array.from(p)));
    expect(streamed.length).toBe(whole.length);
    let maxDiff = 0;
    for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole[i] - streamed[i]));
    expect(maxDiff).toBeLessThan(1e-6);
  });

  it('passes 16 kHz through untouched', () => {
    const input = signal(1000);
    const r = new StreamingResampler(16000, 16000);
    expect(r.push(input)).toBe(input);
    expect(r.flush().length).toBe(0);
  });
});

describe('pcm16ToFloat', () => {
  it('reads little-endian signed samples into [-1, 1)', () => {
    const bytes = Uint8Array.of(0x00, 0x80, 0xff, 0x7f, 0x00, 0x00, 0x00, 0x40);
    expect(Array.from(pcm16ToFloat(bytes))).toEqual([-1, 32767 / 32768, 0, 0.5]);
  });
});

describe('StablePrefix', () => {
  it('keeps words two consecutive decodes agree on, and never changes them within the utterance', () => {
    const p = new StablePrefix();
    expect(p.update('And so')).toBe('And so');
    expect(p.stableText).toBe('');
    expect(p.update('And so my fell')).toBe('And so my fell');
    expect(p.stableText).toBe('And so');
    // A later decode that rewrites the stable words does not change them.
    expect(p.update('Ants sew my fellow Americans')).toBe('And so my fellow Americans');
    expect(p.stableText).toBe('And so my');
    // Punctuation and case do not break agreement.
    expect(p.update('and so my Fellow Americans, ask')).toBe('And so my Fellow Americans, ask');
    expect(p.stableText).toBe('And so my Fellow Americans,');
    p.reset();
    expect(p.update('Next one')).toBe('Next one');
    expect(p.stableText).toBe('');
  });
});

/** Feeds frame probabilities; returns the events with the frame index they came at. */
function track(probs: number[], tracker = new UtteranceTracker()): Array<EndpointEvent & { frame: number }> {
  const events: Array<EndpointEvent & { frame: number }> = [];
  probs.forEach((p, frame) => {
    const e = tracker.push(p);
    if (e) events.push({ ...e, frame });
  });
  return events;
}

const frames = (seconds: number): number => Math.round((seconds * 16000) / F);

describe('UtteranceTracker', () => {
  it('finds an utterance, asks for partials as it grows, and a final with padding after 0.5 s of silence', () => {
    const probs = [...Array(frames(1)).fill(0.05), ...Array(frames(2)).fill(0.9), ...Array(frames(1)).fill(0.05)];
    const events = track(probs);
    const speechStart = frames(1) * F;
    const speechEnd = (frames(1) + frames(2)) * F;
    const partials = events.filter((e) => e.kind === 'partial');
    const finals = events.filter((e) => e.kind === 'final');
    expect(finals).toHaveLength(1);
    expect(finals[0]).toMatchObject({ start: speechStart - 4800, end: speechEnd + 3200, forced: false, speech: { start: speechStart, end: speechEnd } });
    // The final comes once 500 ms of silence have passed.
    expect(finals[0].frame).toBe(frames(1) + frames(2) + Math.ceil(8000 / F) - 1);
    // First partial 0.5 s in (pre-roll included), then every 0.6 s, all before the final.
    expect(partials.length).toBeGreaterThanOrEqual(3);
    expect(partials.every((p) => p.start === speechStart - 4800 && p.frame < finals[0].frame)).toBe(true);
    // None in the pause before the final.
    expect(partials.every((p) => p.end <= speechEnd)).toBe(true);
    const gaps = partials.slice(1).map((p, i) => p.end - partials[i].end);
    expect(gaps.every((g) => g >= 9600 && g < 9600 + F)).toBe(true);
  });

  it('asks for an early final 0.2 s into a pause, with the audio and end the final then has', () => {
    const probs = [...Array(frames(1)).fill(0.9), ...Array(frames(1)).fill(0.05)];
    const events = track(probs).filter((e) => e.kind !== 'partial');
    expect(events.map((e) => e.kind)).toEqual(['early', 'final']);
    expect(events[0]).toMatchObject({ start: events[1].start, end: events[1].end });
    expect(events[0].frame).toBe(frames(1) + Math.ceil(3200 / F) - 1);
  });

  it('asks again for an early final after speech resumes, once per pause', () => {
    const probs = [...Array(frames(1)).fill(0.9), ...Array(frames(0.35)).fill(0.05), ...Array(frames(1)).fill(0.9), ...Array(frames(1)).fill(0.05)];
    const events = track(probs).filter((e) => e.kind !== 'partial');
    expect(events.map((e) => e.kind)).toEqual(['early', 'early', 'final']);
    expect(events[0].end).toBeLessThan(events[2].end);
    expect(events[1]).toMatchObject({ start: events[2].start, end: events[2].end });
  });

  it('keeps short pauses and the hysteresis band inside the utterance', () => {
    const probs = [
      ...Array(frames(1)).fill(0.9),
      ...Array(frames(0.3)).fill(0.05),
      ...Array(frames(1)).fill(0.9),
      ...Array(frames(2)).fill(0.4), // between negThreshold and threshold: still speech
      ...Array(frames(1)).fill(0.05),
    ];
    const finals = track(probs).filter((e) => e.kind === 'final');
    expect(finals).toHaveLength(1);
    expect(finals[0].end).toBe((frames(1) + frames(0.3) + frames(1) + frames(2)) * F + 3200);
  });

  it('lets a pause run on through a one-frame blip of noise; two speech frames end it', () => {
    const pause = (blip: number[]) => [...Array(frames(1)).fill(0.9), ...Array(frames(0.2)).fill(0.05), ...blip, ...Array(frames(1)).fill(0.05)];
    const blipped = track(pause([0.8, 0.1])).filter((e) => e.kind === 'final');
    const clean = track(pause([0.1, 0.1])).filter((e) => e.kind === 'final');
    expect(blipped).toHaveLength(1);
    expect(blipped[0]).toMatchObject({ end: clean[0].end, frame: clean[0].frame, speech: clean[0].speech });
    const resumed = track(pause([0.8, 0.8])).filter((e) => e.kind === 'final');
    expect(resumed[0].frame).toBeGreaterThan(clean[0].frame);
  });

  it('forces a final at 25 s, cut at the quietest moment of the last 5 s, and goes on with the rest', () => {
    const probs = Array(frames(40)).fill(0.9);
    const dip = frames(22);
    for (let i = dip; i < dip + 3; i++) probs[i] = 0.4;
    const finals = track(probs).filter((e) => e.kind === 'final');
    expect(finals).toHaveLength(1);
    expect(finals[0].forced).toBe(true);
    expect(finals[0].start).toBe(0);
    expect(Math.abs(finals[0].end - (dip + 1) * F)).toBeLessThanOrEqual(2 * F);
    const tracker = new UtteranceTracker();
    track(probs.slice(0, frames(25) + 1), tracker);
    expect(tracker.inUtterance).toBe(true);
    // The cut utterance's speech runs to the cut; the rest's from it to the end of the audio.
    expect(finals[0].speech).toEqual({ start: 0, end: finals[0].end });
    expect(tracker.finish(frames(26) * F)).toMatchObject({ kind: 'final', start: finals[0].end, speech: { start: finals[0].end, end: frames(26) * F } });
  });

  it('never reaches back before the previous final for the pre-roll', () => {
    const probs = [...Array(frames(1)).fill(0.9), ...Array(frames(0.6)).fill(0.05), ...Array(frames(1)).fill(0.9), ...Array(frames(1)).fill(0.05)];
    const finals = track(probs).filter((e) => e.kind === 'final');
    expect(finals).toHaveLength(2);
    expect(finals[1].start).toBeGreaterThanOrEqual(finals[0].end);
  });

  it('gives no final without speech', () => {
    const tracker = new UtteranceTracker();
    expect(track(Array(frames(3)).fill(0.2), tracker)).toEqual([]);
    expect(tracker.finish(frames(3) * F)).toBeNull();
  });
});
