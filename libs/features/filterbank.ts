/**
 * Short-time log mel features in the Kaldi / HTK tradition (mel = 1127·ln(1 + f/700), triangles in the mel
 * domain): Kaldi-compatible `fbank` for speaker-embedding models, and MFCCs for the model-free speaker features.
 */
import { RealFft } from './fft';

export function melScale(hz: number): number {
  return 1127 * Math.log(1 + hz / 700);
}

/** Triangular filters equally spaced in mel between lowHz and highHz, as sparse rows over FFT bins 0..nFft/2. */
export interface MelBank {
  nMels: number;
  weights: Float32Array[];
  first: Int32Array;
}

/**
 * Kaldi's `MelBanks`: the weight of bin k in filter m is the triangle over mel(k·sr/nFft) between the mel
 * edges m, m+1, m+2. The Nyquist bin gets no weight, as in Kaldi.
 */
export function melBank(nMels: number, nFft: number, sampleRate: number, lowHz: number, highHz: number): MelBank {
  if (!(lowHz >= 0 && highHz > lowHz && highHz <= sampleRate / 2)) throw new RangeError(`bad mel range ${lowHz}–${highHz} Hz`);
  const lowMel = melScale(lowHz);
  const delta = (melScale(highHz) - lowMel) / (nMels + 1);
  const weights: Float32Array[] = [];
  const first = new Int32Array(nMels);
  for (let m = 0; m < nMels; m++) {
    const left = lowMel + m * delta;
    const centre = left + delta;
    const right = centre + delta;
    const full = new Float32Array(nFft / 2);
    for (let k = 0; k < nFft / 2; k++) {
      const mel = melScale((k * sampleRate) / nFft);
      if (mel > left && mel < right) full[k] = mel <= centre ? (mel - left) / delta : (right - mel) / delta;
    }
    let a = full.findIndex((w) => w > 0);
    if (a < 0) a = 0;
    let b = full.length;
    while (b > a && full[b - 1] === 0) b--;
    first[m] = a;
    weights.push(full.slice(a, b));
  }
  return { nMels, weights, first };
}

export interface FrameOptions {
  sampleRate: number;
  frameLength: number;
  frameShift: number;
  nFft: number;
  preemphasis: number;
  /** Subtract each frame's mean before windowing (Kaldi's remove_dc_offset). */
  removeDc: boolean;
  window: 'hann' | 'povey' | 'hamming';
  /** Multiplies the samples first (WeSpeaker models expect int16 range). */
  scale: number;
}

/** Frames with Kaldi's snip_edges=true: only whole frames, the first starting at sample 0. */
export function frameCount(samples: number, frameLength: number, frameShift: number): number {
  return samples < frameLength ? 0 : Math.floor((samples - frameLength) / frameShift) + 1;
}

function windowFunction(kind: FrameOptions['window'], n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Kaldi's windows use n-1 in the denominator (symmetric).
    const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    w[i] = kind === 'hann' ? hann : kind === 'povey' ? Math.pow(hann, 0.85) : 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (n - 1));
  }
  return w;
}

/**
 * Log mel energies per frame, row-major [frames × nMels]: frame, optional DC removal, pre-emphasis (Kaldi's, with
 * the first sample emphasised against itself), window, zero-pad to nFft, power spectrum, mel filters, natural log
 * floored at the float32 epsilon.
 */
export function logMelFrames(samples: Float32Array, opts: FrameOptions, bank: MelBank): Float32Array {
  const { frameLength: L, frameShift: S, nFft } = opts;
  const frames = frameCount(samples.length, L, S);
  const out = new Float32Array(frames * bank.nMels);
  const fft = new RealFft(nFft);
  const win = windowFunction(opts.window, L);
  const buf = new Float64Array(nFft);
  const re = new Float64Array(nFft / 2 + 1);
  const im = new Float64Array(nFft / 2 + 1);
  const power = new Float64Array(nFft / 2 + 1);
  for (let f = 0; f < frames; f++) {
    const off = f * S;
    let mean = 0;
    if (opts.removeDc) {
      for (let i = 0; i < L; i++) mean += samples[off + i];
      mean = (mean * opts.scale) / L;
    }
    for (let i = L - 1; i >= 0; i--) {
      const x = samples[off + i] * opts.scale - mean;
      const prev = (i > 0 ? samples[off + i - 1] : samples[off]) * opts.scale - mean;
      buf[i] = (x - opts.preemphasis * prev) * win[i];
    }
    buf.fill(0, L);
    fft.forward(buf, re, im);
    for (let k = 0; k < power.length; k++) power[k] = re[k] * re[k] + im[k] * im[k];
    for (let m = 0; m < bank.nMels; m++) {
      const w = bank.weights[m];
      const a = bank.first[m];
      let e = 0;
      for (let j = 0; j < w.length; j++) e += w[j] * power[a + j];
      out[f * bank.nMels + m] = Math.log(Math.max(e, 1.1920928955078125e-7));
    }
  }
  return out;
}

export interface KaldiFbankOptions {
  numMelBins: number;
  /** Applied before anything else; 32768 turns [-1, 1] samples into the int16 range Kaldi tools see. */
  scale: number;
  sampleRate?: number;
}

/**
 * torchaudio.compliance.kaldi.fbank / Kaldi compute-fbank-feats with dither 0 and the defaults otherwise: 25 ms
 * povey window, 10 ms shift, DC removed, pre-emphasis 0.97, power spectrum, mel bins from 20 Hz to Nyquist.
 */
export function kaldiFbank(samples: Float32Array, { numMelBins, scale, sampleRate = 16000 }: KaldiFbankOptions): Float32Array {
  const frameLength = Math.round(sampleRate * 0.025);
  const nFft = 1 << Math.ceil(Math.log2(frameLength));
  const opts: FrameOptions = {
    sampleRate,
    frameLength,
    frameShift: Math.round(sampleRate * 0.01),
    nFft,
    preemphasis: 0.97,
    removeDc: true,
    window: 'povey',
    scale,
  };
  return logMelFrames(samples, opts, cachedBank(numMelBins, nFft, sampleRate, 20, sampleRate / 2));
}

const banks = new Map<string, MelBank>();

function cachedBank(nMels: number, nFft: number, sampleRate: number, low: number, high: number): MelBank {
  const key = `${nMels}/${nFft}/${sampleRate}/${low}/${high}`;
  let bank = banks.get(key);
  if (!bank) banks.set(key, (bank = melBank(nMels, nFft, sampleRate, low, high)));
  return bank;
}

export const MFCC_OPTIONS = { numMelBins: 40, lowHz: 20, highHz: 7600, firstCoefficient: 1, numCoefficients: 16 } as const;

/**
 * MFCCs c1…c16 per 10 ms frame, row-major [frames × 16]: pre-emphasis 0.97, 25 ms Hann window, 512-point FFT,
 * 40 mel filters 20–7600 Hz, log, orthonormal DCT-II.
 */
export function mfcc(samples: Float32Array, sampleRate = 16000): Float32Array {
  const nFft = 512;
  const opts: FrameOptions = {
    sampleRate,
    frameLength: Math.round(sampleRate * 0.025),
    frameShift: Math.round(sampleRate * 0.01),
    nFft,
    preemphasis: 0.97,
    removeDc: false,
    window: 'hann',
    scale: 1,
  };
  const { numMelBins: M, lowHz, highHz, firstCoefficient: c0, numCoefficients: C } = MFCC_OPTIONS;
  const logMel = logMelFrames(samples, opts, cachedBank(M, nFft, sampleRate, lowHz, highHz));
  const dct = dctMatrix(M, c0, C);
  const frames = logMel.length / M;
  const out = new Float32Array(frames * C);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let m = 0; m < M; m++) s += dct[c * M + m] * logMel[f * M + m];
      out[f * C + c] = s;
    }
  }
  return out;
}

/** Rows first…first+count-1 of the orthonormal DCT-II matrix of size n. */
export function dctMatrix(n: number, first: number, count: number): Float64Array {
  const d = new Float64Array(count * n);
  for (let c = 0; c < count; c++) {
    const k = first + c;
    const norm = k === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
    for (let m = 0; m < n; m++) d[c * n + m] = norm * Math.cos((Math.PI * k * (2 * m + 1)) / (2 * n));
  }
  return d;
}
