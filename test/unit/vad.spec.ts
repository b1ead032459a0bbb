import { AudioChunk, DEFAULT_VAD_OPTIONS, SpeechRegion, fixedChunks, planChunks, speechRegions } from '../../src/engine/core/audio/vad';

const F = 512;
const SR = 16000;
/** No minimum durations and no padding: regions are the raw hysteresis output. */
const RAW = { minSpeechMs: 0, minSilenceMs: 0, speechPadMs: 0 };

/** Probabilities from [value, frameCount] runs. */
function probs(...runs: [number, number][]): Float32Array {
  const out: number[] = [];
  for (const [v, n] of runs) for (let i = 0; i < n; i++) out.push(v);
  return Float32Array.from(out);
}

function frames(...pairs: [number, number][]): SpeechRegion[] {
  return pairs.map(([s, e]) => ({ start: s * F, end: e * F }));
}

describe('speechRegions', () => {
  it('starts at the threshold and ends only below the negative threshold', () => {
    const p = probs([0, 2], [0.6, 2], [0.4, 3], [0.6, 1], [0.2, 2], [0.45, 3], [0, 2]);
    // 0.4 keeps speech going (above neg 0.35); 0.45 alone never starts it.
    expect(speechRegions(p, p.length * F, RAW)).toEqual(frames([2, 8]));
    expect(speechRegions(p, p.length * F, { ...RAW, negThreshold: 0.5 })).toEqual(frames([2, 4], [7, 8]));
  });

  it('defaults the negative threshold to threshold - 0.15', () => {
    const p = probs([0.8, 3], [0.66, 3], [0.64, 3]);
    expect(speechRegions(p, p.length * F, { ...RAW, threshold: 0.8 })).toEqual(frames([0, 6]));
    expect(DEFAULT_VAD_OPTIONS.negThreshold).toBeUndefined();
  });

  it('drops speech shorter than minSpeechMs', () => {
    const p = probs([0, 5], [0.9, 3], [0, 10], [0.9, 10], [0, 5]); // 96 ms, then 320 ms
    expect(speechRegions(p, p.length * F, { ...RAW, minSpeechMs: 100 })).toEqual(frames([18, 28]));
    expect(speechRegions(p, p.length * F, { ...RAW, minSpeechMs: 90 })).toEqual(frames([5, 8], [18, 28]));
  });

  it('bridges pauses shorter than minSilenceMs', () => {
    const p = probs([0.9, 10], [0, 2], [0.9, 10], [0, 6], [0.9, 10], [0, 10]); // 64 ms and 192 ms pauses
    expect(speechRegions(p, p.length * F, { ...RAW, minSilenceMs: 100 })).toEqual(frames([0, 22], [28, 38]));
    expect(speechRegions(p, p.length * F, { ...RAW, minSilenceMs: 250 })).toEqual(frames([0, 38]));
  });

  it('ends speech still open at the end of the audio at totalSamples', () => {
    const p = probs([0, 4], [0.9, 6]);
    const total = 9 * F + 100; // last frame is partial
    expect(speechRegions(p, total, RAW)).toEqual([{ start: 4 * F, end: total }]);
  });

  it('pads regions, clips them to the audio and merges those that come to touch', () => {
    const pad = 20; // ms = 320 samples
    const p = probs([0.9, 5], [0, 20], [0.9, 5], [0, 1], [0.9, 5], [0, 1]);
    const total = p.length * F - 200; // the last padding runs past the end
    const r = speechRegions(p, total, { ...RAW, speechPadMs: pad });
    expect(r).toEqual([
      { start: 0, end: 5 * F + 320 },
      { start: 25 * F - 320, end: total },
    ]);
  });

  it('finds nothing in silence or in an empty input', () => {
    expect(speechRegions(probs([0.1, 100]), 100 * F)).toEqual([]);
    expect(speechRegions(new Float32Array(0), 0)).toEqual([]);
  });

  it('uses the defaults: 100 ms minimum speech, 200 ms padding', () => {
    const p = probs([0, 50], [0.9, 2], [0, 50], [0.9, 4], [0, 50]); // 64 ms blip, 128 ms word
    const pad = (200 * SR) / 1000;
    expect(speechRegions(p, p.length * F)).toEqual([{ start: 102 * F - pad, end: 106 * F + pad }]);
  });
});

const MAX = 30 * SR;
const S = (seconds: number): number => Math.round(seconds * SR);

function expectValidPlan(chunks: AudioChunk[], regions: SpeechRegion[], max: number): void {
  const problems: string[] = [];
  chunks.forEach((c, i) => {
    if (c.end <= c.start || c.end - c.start > max) problems.push(`chunk ${i} has a bad length`);
    if (i > 0 && c.start < chunks[i - 1].end) problems.push(`chunk ${i} overlaps the previous one`);
  });
  // With chunks ordered and disjoint, full overlap means each region sample is in exactly one chunk.
  regions.forEach((r, i) => {
    let covered = 0;
    for (const c of chunks) covered += Math.max(0, Math.min(c.end, r.end) - Math.max(c.start, r.start));
    if (covered !== r.end - r.start) problems.push(`region ${i} covered ${covered} of ${r.end - r.start}`);
  });
  expect(problems).toEqual([]);
}

describe('planChunks', () => {
  it('returns no chunks for no speech', () => {
    expect(planChunks([], new Float32Array(10), { maxChunkSamples: MAX, frameSamples: F })).toEqual([]);
  });

  it('merges neighbouring regions, silence included, while the chunk fits', () => {
    const regions = [0, 1, 2, 3, 4, 5].map((i) => ({ start: S(i * 10), end: S(i * 10 + 8) }));
    const p = new Float32Array(Math.ceil(S(60) / F));
    const chunks = planChunks(regions, p, { maxChunkSamples: MAX, frameSamples: F });
    expect(chunks).toEqual([
      { start: S(0), end: S(28) },
      { start: S(30), end: S(58) },
    ]);
    expectValidPlan(chunks, regions, MAX);
  });

  it('cuts in the longest silence rather than wherever the limit falls', () => {
    const regions = [
      { start: S(0), end: S(10) },
      { start: S(15), end: S(25) },
      { start: S(25.2), end: S(35) },
    ];
    const chunks = planChunks(regions, new Float32Array(Math.ceil(S(35) / F)), { maxChunkSamples: MAX, frameSamples: F });
    // Greedy would give [0, 25] + [25.2, 35], cutting at the 0.2 s pause.
    expect(chunks).toEqual([
      { start: S(0), end: S(10) },
      { start: S(15), end: S(35) },
    ]);
  });

  it('splits an over-long region at the least speech-like stretch near the limit', () => {
    const total = S(50);
    const p = new Float32Array(Math.ceil(total / F)).fill(0.95);
    const pauseFrame = Math.floor(S(24) / F);
    p.fill(0.05, pauseFrame - 4, pauseFrame + 5); // a ~0.3 s pause around 24 s
    p[Math.floor(S(28) / F)] = 0.01; // a single dip inside a word: not a place to cut
    const regions = [{ start: 0, end: total }];
    const chunks = planChunks(regions, p, { maxChunkSamples: MAX, frameSamples: F });
    expect(chunks).toHaveLength(2);
    expect(chunks[0].start).toBe(0);
    expect(chunks[0].end).toBe(pauseFrame * F + F / 2);
    expect(chunks[1]).toEqual({ start: chunks[0].end, end: total });
    expectValidPlan(chunks, regions, MAX);
  });

  it('splits speech with no pause at all into pieces within the limit', () => {
    const total = S(95);
    const regions = [{ start: S(1), end: total }];
    const chunks = planChunks(regions, new Float32Array(Math.ceil(total / F)).fill(1), {
      maxChunkSamples: MAX,
      frameSamples: F,
    });
    expect(chunks).toHaveLength(4);
    expectValidPlan(chunks, regions, MAX);
  });

  it('covers every region sample exactly once on random input', () => {
    let seed = 7;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let trial = 0; trial < 50; trial++) {
      const max = S(5 + rand() * 25);
      const regions: SpeechRegion[] = [];
      let t = Math.floor(rand() * S(2));
      const count = 1 + Math.floor(rand() * 40);
      for (let i = 0; i < count; i++) {
        const len = 1 + Math.floor(rand() < 0.2 ? rand() * S(80) : rand() * S(6));
        regions.push({ start: t, end: t + len });
        t += len + Math.floor(rand() * S(3));
      }
      const p = Float32Array.from({ length: Math.ceil(t / F) }, () => rand());
      expectValidPlan(planChunks(regions, p, { maxChunkSamples: max, frameSamples: F }), regions, max);
    }
  });
});

describe('fixedChunks', () => {
  it('tiles the audio with consecutive windows', () => {
    expect(fixedChunks(S(70), MAX)).toEqual([
      { start: 0, end: MAX },
      { start: MAX, end: 2 * MAX },
      { start: 2 * MAX, end: S(70) },
    ]);
    expect(fixedChunks(MAX, MAX)).toEqual([{ start: 0, end: MAX }]);
    expect(fixedChunks(0, MAX)).toEqual([]);
  });
});
