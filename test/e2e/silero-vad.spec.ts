import { execFileSync } from 'child_process';
import * as path from 'path';
import { SpeechRegion, planChunks, speechRegions } from '../../src/engine/core/audio/vad';
import { ModelRegistry } from '../../src/engine/models/model-registry';
import { SileroVad } from '../../src/engine/models/silero-vad';
import { manifest as readManifest, TESTDATA } from '../support/server';

const SR = 16000;

const LONG = 'stt/long/ljspeech_LJ001-0003_to_0012_concat.wav';

function decode(file: string): Float32Array {
  const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', path.join(TESTDATA, file), '-f', 'f32le', '-ac', '1', '-ar', String(SR), '-'], {
    maxBuffer: 1 << 28,
  });
  return new Float32Array(pcm.buffer, pcm.byteOffset, pcm.length / 4).slice();
}

/** Samples of [start, end) (seconds) inside the regions, as a fraction. */
function coverage(regions: SpeechRegion[], start: number, end: number): number {
  const a = start * SR;
  const b = end * SR;
  let inside = 0;
  for (const r of regions) inside += Math.max(0, Math.min(b, r.end) - Math.max(a, r.start));
  return inside / (b - a);
}

describe('SileroVad (real model)', () => {
  let vad: SileroVad;
  let long: Float32Array;
  let longProbs: Float32Array;
  const segments = readManifest().find((f) => f.path === LONG)!.segments!;

  beforeAll(async () => {
    vad = await SileroVad.load({ modelPath: new ModelRegistry().chosen('vad')!.path, runtime: { device: 'cpu', intraOpThreads: 1 } });
    long = decode(LONG);
    longProbs = await vad.speechProbabilities(long);
  });
  afterAll(() => vad.release());

  it('gives one probability per 512-sample frame, the partial last one included', () => {
    expect(vad.frameSamples).toBe(512);
    expect(longProbs.length).toBe(Math.ceil(long.length / 512));
    expect(longProbs.every((p) => p >= 0 && p <= 1)).toBe(true);
  });

  it('scores the first stretch of long audio exactly like a single pass over it', async () => {
    // 70.6 s runs as two batched 35 s stretches; the first one has nothing before it to differ.
    const head = 1100 * 512;
    expect(await vad.speechProbabilities(long.subarray(0, head))).toEqual(longProbs.subarray(0, 1100));
  });

  it('covers every utterance of the long clip', () => {
    const regions = speechRegions(longProbs, long.length);
    const missed = segments.map((s) => ({ id: s.id, covered: coverage(regions, s.start_s, s.end_s) })).filter((s) => s.covered < 0.95);
    expect(missed).toEqual([]);
  });

  it("hears the 0.3 s silences between utterances with Silero's stock 100 ms silence / 30 ms padding", () => {
    const regions = speechRegions(longProbs, long.length, { minSilenceMs: 100, speechPadMs: 30 });
    let silenceLeftOut = 0;
    let silence = 0;
    for (let i = 1; i < segments.length; i++) {
      const gap = segments[i].start_s - segments[i - 1].end_s;
      silence += gap;
      silenceLeftOut += gap * (1 - coverage(regions, segments[i - 1].end_s, segments[i].start_s));
    }
    expect(silenceLeftOut / silence).toBeGreaterThan(0.7);
    for (const s of segments) expect(coverage(regions, s.start_s, s.end_s)).toBeGreaterThan(0.9);
  });

  it('leaves silence around speech out of the regions', async () => {
    const quiet = 3 * SR;
    const padded = new Float32Array(quiet + long.length + quiet);
    padded.set(long, quiet);
    const regions = speechRegions(await vad.speechProbabilities(padded), padded.length);
    const total = padded.length / SR;
    expect(coverage(regions, 0, 3) + coverage(regions, total - 3, total)).toBeLessThan(0.2);
  });

  it('plans chunks of at most 30 s over the long clip, cut where nobody speaks', () => {
    const regions = speechRegions(longProbs, long.length);
    const maxChunkSamples = 30 * SR;
    const chunks = planChunks(regions, longProbs, { maxChunkSamples, frameSamples: 512 });
    expect(chunks.length).toBe(3); // 70.6 s of speech needs no more
    for (const c of chunks) expect(c.end - c.start).toBeLessThanOrEqual(maxChunkSamples);
    for (const r of regions) {
      let covered = 0;
      for (const c of chunks) covered += Math.max(0, Math.min(c.end, r.end) - Math.max(c.start, r.start));
      expect(covered).toBe(r.end - r.start);
    }
    // The one region spanning the clip (its 0.3 s pauses are inside the padding) is cut in pauses
    // between utterances, never inside one.
    for (let i = 1; i < chunks.length; i++) {
      const cut = chunks[i].start / SR;
      const inPause = segments.some((s, k) => k > 0 && cut >= segments[k - 1].end_s - 0.1 && cut <= s.start_s + 0.1);
      expect([cut, inPause]).toEqual([cut, true]);
    }
  });

  it('finds no speech in digital silence or faint white noise', async () => {
    const silence = new Float32Array(10 * SR);
    expect(speechRegions(await vad.speechProbabilities(silence), silence.length)).toEqual([]);

    let seed = 1;
    const noise = Float32Array.from({ length: 10 * SR }, () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed / 2 ** 32 - 0.5) * 0.02; // about -45 dBFS
    });
    expect(speechRegions(await vad.speechProbabilities(noise), noise.length)).toEqual([]);
  });

  it('covers the speech of jfk.wav and skips its two long pauses', async () => {
    const audio = decode('stt/en/jfk.wav');
    const regions = speechRegions(await vad.speechProbabilities(audio), audio.length);
    // Phrases read off the waveform envelope: "And so my fellow Americans" / "ask not" / the rest.
    const phrases: [number, number][] = [
      [0.3, 2.0],
      [3.3, 4.4],
      [5.35, 10.6],
    ];
    const spoken = phrases.reduce((a, [s, e]) => a + e - s, 0);
    const heard = phrases.reduce((a, [s, e]) => a + (e - s) * coverage(regions, s, e), 0);
    expect(heard / spoken).toBeGreaterThan(0.9);
    expect(coverage(regions, 2.6, 2.9)).toBe(0);
    expect(coverage(regions, 4.75, 5.05)).toBe(0);
  });
});
