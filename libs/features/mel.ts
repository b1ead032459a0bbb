/**
 * Whisper log-mel spectrogram, numerically matching openai-whisper `log_mel_spectrogram`
 * and transformers.js `WhisperFeatureExtractor`: 400-point periodic-Hann STFT with hop 160,
 * centred with reflect padding, power spectrum, Slaney mel filterbank, log10 clamped at 1e-10,
 * dynamic range limited to 8 (log10 units) below the window maximum, then (x + 4) / 4.
 */
import { RealFft } from './fft';

export const WHISPER_SAMPLE_RATE = 16000;
export const WHISPER_HOP_LENGTH = 160;
export const WHISPER_N_FFT = 400;
export const WHISPER_CHUNK_SAMPLES = 480000;
export const WHISPER_N_FRAMES = 3000;

const N_BINS = WHISPER_N_FFT / 2 + 1;
const HALF_WINDOW = WHISPER_N_FFT / 2;
const LOG_FLOOR = 1e-10;

// Slaney mel scale (librosa htk=False): linear below 1 kHz, logarithmic above.
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = 15;
const MELS_PER_LOG_HZ = 27 / Math.log(6.4);
const LOG_HZ_PER_MEL = Math.log(6.4) / 27;

function hzToMel(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) * MELS_PER_LOG_HZ : (3 * hz) / 200;
}

function melToHz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_HZ_PER_MEL * (mel - MIN_LOG_MEL)) : (200 * mel) / 3;
}

/**
 * Slaney-normalised triangular mel filters from 0 Hz to sampleRate/2 (librosa
 * `filters.mel(htk=False, norm='slaney')`), row-major [nMels × (nFft/2 + 1)].
 */
export function melFilterBank(nMels: number, nFft: number, sampleRate: number): Float32Array {
  if (!Number.isInteger(nMels) || nMels < 1) throw new RangeError(`nMels must be a positive integer, got ${nMels}`);
  if (!Number.isInteger(nFft) || nFft < 2) throw new RangeError(`nFft must be an integer ≥ 2, got ${nFft}`);
  if (!(sampleRate > 0)) throw new RangeError(`sampleRate must be positive, got ${sampleRate}`);
  const nBins = Math.floor(nFft / 2) + 1;
  const nyquist = sampleRate / 2;
  const melMax = hzToMel(nyquist);
  const edges = new Float64Array(nMels + 2);
  for (let i = 0; i < edges.length; i++) edges[i] = melToHz((melMax / (nMels + 1)) * i);
  const bank = new Float32Array(nMels * nBins);
  for (let m = 0; m < nMels; m++) {
    const lo = edges[m];
    const mid = edges[m + 1];
    const hi = edges[m + 2];
    const enorm = 2 / (hi - lo);
    for (let k = 0; k < nBins; k++) {
      const f = (k * sampleRate) / nFft;
      const rising = (f - lo) / (mid - lo);
      const falling = (hi - f) / (hi - mid);
      bank[m * nBins + k] = Math.max(0, Math.min(rising, falling)) * enorm;
    }
  }
  return bank;
}

/** The filterbank plus the [first, last] non-zero bin of each filter, so frames skip the zeros. */
interface SparseBank {
  weights: Float32Array;
  first: Int32Array;
  last: Int32Array;
}

const banks = new Map<number, SparseBank>();

function sparseBank(nMels: number): SparseBank {
  let bank = banks.get(nMels);
  if (!bank) {
    const weights = melFilterBank(nMels, WHISPER_N_FFT, WHISPER_SAMPLE_RATE);
    const first = new Int32Array(nMels);
    const last = new Int32Array(nMels);
    for (let m = 0; m < nMels; m++) {
      let a = N_BINS;
      let b = -1;
      for (let k = 0; k < N_BINS; k++) {
        if (weights[m * N_BINS + k] !== 0) {
          if (a === N_BINS) a = k;
          b = k;
        }
      }
      first[m] = a;
      last[m] = b;
    }
    bank = { weights, first, last };
    banks.set(nMels, bank);
  }
  return bank;
}

// Periodic Hann window.
const hann = new Float64Array(WHISPER_N_FFT);
for (let i = 0; i < WHISPER_N_FFT; i++) hann[i] = 0.5 - 0.5 * Math.cos(i * ((2 * Math.PI) / WHISPER_N_FFT));

// Scratch shared by all calls (feature extraction is synchronous, so never re-entered).
const fft = new RealFft(WHISPER_N_FFT);
const frame = new Float64Array(WHISPER_N_FFT);
const specRe = new Float64Array(N_BINS);
const specIm = new Float64Array(N_BINS);
const power = new Float64Array(N_BINS);

/**
 * Log-mel features of one 30 s window: `samples` (16 kHz mono, any length ≤ 480000, zero-padded
 * to 30 s like Whisper does; longer input uses the first 30 s) → Float32Array [nMels * 3000]
 * row-major (mel bin major, i.e. index = bin*3000 + frame). Writes into `out` at `outOffset`
 * when given (so a batch tensor can be filled without copies).
 */
export function whisperLogMel(samples: Float32Array, nMels: 80 | 128, out?: Float32Array, outOffset = 0): Float32Array {
  if (nMels !== 80 && nMels !== 128) throw new RangeError(`nMels must be 80 or 128, got ${nMels}`);
  const size = nMels * WHISPER_N_FRAMES;
  const dst = out ?? new Float32Array(size);
  if (!Number.isInteger(outOffset) || outOffset < 0 || outOffset + size > dst.length) {
    throw new RangeError(`output of length ${dst.length} cannot hold ${size} values at offset ${outOffset}`);
  }
  const { weights, first, last } = sparseBank(nMels);
  const n = Math.min(samples.length, WHISPER_CHUNK_SAMPLES);
  const silentLog = Math.log10(LOG_FLOOR);
  let maxLog = -Infinity;

  for (let f = 0; f < WHISPER_N_FRAMES; f++) {
    // Frame f covers [start, start + 400) of the 30 s signal (zeros past n), reflect-padded by 200 at both ends.
    const start = f * WHISPER_HOP_LENGTH - HALF_WINDOW;
    const end = start + WHISPER_N_FFT;
    if (start >= n && end <= WHISPER_CHUNK_SAMPLES) {
      for (let m = 0; m < nMels; m++) dst[outOffset + m * WHISPER_N_FRAMES + f] = silentLog;
      if (silentLog > maxLog) maxLog = silentLog;
      continue;
    }
    if (start >= 0 && end <= n) {
      for (let j = 0; j < WHISPER_N_FFT; j++) frame[j] = samples[start + j] * hann[j];
    } else {
      for (let j = 0; j < WHISPER_N_FFT; j++) {
        let i = start + j;
        if (i < 0) i = -i;
        else if (i >= WHISPER_CHUNK_SAMPLES) i = 2 * (WHISPER_CHUNK_SAMPLES - 1) - i;
        frame[j] = i < n ? samples[i] * hann[j] : 0;
      }
    }
    fft.forward(frame, specRe, specIm);
    for (let k = 0; k < N_BINS; k++) power[k] = specRe[k] * specRe[k] + specIm[k] * specIm[k];
    for (let m = 0; m < nMels; m++) {
      const row = m * N_BINS;
      let e = 0;
      for (let k = first[m]; k <= last[m]; k++) e += weights[row + k] * power[k];
      const v = Math.log(e > LOG_FLOOR ? e : LOG_FLOOR) * Math.LOG10E;
      dst[outOffset + m * WHISPER_N_FRAMES + f] = v;
      if (v > maxLog) maxLog = v;
    }
  }

  // Whisper compares against the float32 maximum; fround keeps the clamp identical.
  const floor = Math.fround(maxLog) - 8;
  for (let i = outOffset; i < outOffset + size; i++) {
    const v = dst[i];
    dst[i] = ((v > floor ? v : floor) + 4) / 4;
  }
  return dst;
}
