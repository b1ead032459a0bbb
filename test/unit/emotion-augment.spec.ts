import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  applyGain,
  augmentedExtension,
  colouredNoise,
  ffmpegAugmentArgs,
  mixAtSnr,
  padSilence,
  randomAugmentation,
  trimSilence,
} from '../../libs/audio/augment';
import { normalizeLoudness, rmsDbfs } from '../../libs/audio/normalize';
import { parseWav } from '../../libs/audio/wav';
import { seededRandom } from '../../libs/math/seeded-random';
import { RealFft } from '../../libs/features/fft';
import { decodeAudioFile } from '../../src/engine/core/audio/decode';
import { TESTDATA } from '../support/server';

const SR = 16000;
// RAVDESS's acted neutral is recorded quietly (peak −28 dBFS, its angry clips near 0 dBFS); LibriSpeech is read at an
// ordinary level: the level alone told the old head "ordinary speech is angry".
const acted = parseWav(readFileSync(join(TESTDATA, 'emotion/ravdess/03-01-01-01-01-01-01.wav'))).samples;
const read = parseWav(readFileSync(join(TESTDATA, 'stt/en/librispeech_1089-134686-0001.wav'))).samples;

describe('loudness normalisation', () => {
  it('brings recordings tens of dB apart to one level, within the gain limit', () => {
    expect(rmsDbfs(read) - rmsDbfs(acted)).toBeGreaterThan(10);
    expect(rmsDbfs(normalizeLoudness(acted, -23, 30))).toBeCloseTo(-23, 3);
    expect(rmsDbfs(normalizeLoudness(read, -23, 30))).toBeCloseTo(-23, 3);
    const faint = applyGain(read, -60);
    expect(rmsDbfs(normalizeLoudness(faint, -23, 30))).toBeCloseTo(rmsDbfs(faint) + 30, 3);
    expect(Array.from(normalizeLoudness(new Float32Array(10), -23, 30))).toEqual(new Array(10).fill(0));
  });
});

describe('waveform augmentation', () => {
  it('adds noise at the signal-to-noise ratio asked for, for every colour', () => {
    for (const colour of ['white', 'pink', 'brown'] as const) {
      const noise = colouredNoise(read.length, colour, seededRandom(1));
      const mixed = mixAtSnr(read, noise, 10);
      const residual = mixed.map((v, i) => v - read[i]);
      expect(rmsDbfs(read) - rmsDbfs(residual)).toBeCloseTo(10, 3);
    }
  });

  it('pink and brown noise carry more low than high frequency energy than white', () => {
    // Lag-1 autocorrelation: ~0 for white, high for the coloured ones.
    const lag1 = (x: Float32Array) => {
      let a = 0,
        b = 0;
      for (let i = 1; i < x.length; i++) {
        a += x[i] * x[i - 1];
        b += x[i] * x[i];
      }
      return a / b;
    };
    expect(Math.abs(lag1(colouredNoise(SR, 'white', seededRandom(2))))).toBeLessThan(0.05);
    expect(lag1(colouredNoise(SR, 'pink', seededRandom(2)))).toBeGreaterThan(0.5);
    expect(lag1(colouredNoise(SR, 'brown', seededRandom(2)))).toBeGreaterThan(0.9);
  });

  it('trims leading and trailing silence relative to the clip, and pads it back', () => {
    const padded = padSilence(acted, SR, 2 * SR);
    expect(padded.length).toBe(acted.length + 3 * SR);
    const trimmed = trimSilence(padded);
    // The quiet clip's own pauses go too, its speech stays: RAVDESS clips are ~1–1.5 s of speech in 3–4 s.
    expect(trimmed.length).toBeLessThan(acted.length);
    expect(trimmed.length).toBeGreaterThan(0.8 * SR);
    expect(rmsDbfs(trimmed)).toBeGreaterThan(rmsDbfs(acted));
  });

  it('draws reproducible, varied recording conditions', () => {
    const draws = Array.from({ length: 200 }, (_, i) => randomAugmentation(seededRandom(i)));
    expect(randomAugmentation(seededRandom(5))).toEqual(draws[5]);
    expect(draws.filter((a) => a.codec?.name === 'mp3').length).toBeGreaterThan(20);
    expect(draws.filter((a) => a.codec?.name === 'opus').length).toBeGreaterThan(20);
    expect(draws.filter((a) => a.filters.some((f) => f.startsWith('lowpass=f=3400'))).length).toBeGreaterThan(40);
    const snrs = draws.flatMap((a) => (a.noise ? [a.noise.snrDb] : []));
    expect(Math.min(...snrs)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...snrs)).toBeLessThanOrEqual(30);
    const gains = draws.map((a) => a.gainDb);
    expect(Math.min(...gains)).toBeGreaterThanOrEqual(-20);
    expect(Math.max(...gains)).toBeLessThanOrEqual(10);
  });
});

describe('ffmpeg augmentation of real audio', () => {
  const run = promisify(execFile);
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'earshot-augment-test-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const limits = { maxSeconds: 60, ffmpegTimeoutMs: 30000, ffmpegPath: 'ffmpeg' };

  it('telephone band through opus keeps the duration and removes the energy above 3.4 kHz', async () => {
    const aug = {
      ...randomAugmentation(seededRandom(0)),
      filters: ['highpass=f=300', 'lowpass=f=3400', 'aresample=8000', 'aresample=16000'],
      codec: { name: 'opus' as const, kbps: 12 },
    };
    const out = join(dir, `phone${augmentedExtension(aug)}`);
    await run('ffmpeg', ffmpegAugmentArgs(join(TESTDATA, 'stt/en/librispeech_1089-134686-0001.wav'), out, aug));
    const phone = (await decodeAudioFile(out, limits)).samples;
    expect(Math.abs(phone.length - read.length)).toBeLessThan(0.05 * SR);
    // Share of the energy above 4 kHz, over 512-sample frames.
    const highShare = (x: Float32Array) => {
      const fft = new RealFft(512);
      const re = new Float64Array(257),
        im = new Float64Array(257);
      let high = 0,
        all = 0;
      for (let o = 0; o + 512 <= x.length; o += 512) {
        fft.forward(Float64Array.from(x.subarray(o, o + 512)), re, im);
        for (let k = 1; k <= 256; k++) {
          const e = re[k] ** 2 + im[k] ** 2;
          all += e;
          if (k >= 128) high += e;
        }
      }
      return high / all;
    };
    expect(highShare(read)).toBeGreaterThan(0.002);
    expect(highShare(phone)).toBeLessThan(0.3 * highShare(read));
  });

  it('speed perturbation changes the length by its factor, and mp3 decodes back', async () => {
    const aug = { ...randomAugmentation(seededRandom(0)), filters: ['asetrate=17600', 'aresample=16000'], codec: { name: 'mp3' as const, kbps: 32 } };
    const out = join(dir, `fast${augmentedExtension(aug)}`);
    await run('ffmpeg', ffmpegAugmentArgs(join(TESTDATA, 'stt/en/librispeech_1089-134686-0001.wav'), out, aug));
    const fast = (await decodeAudioFile(out, limits)).samples;
    expect(fast.length / read.length).toBeGreaterThan(0.88);
    expect(fast.length / read.length).toBeLessThan(0.94);
  });
});
