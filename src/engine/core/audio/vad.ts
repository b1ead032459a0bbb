/**
 * Voice-activity logic on top of per-frame speech probabilities: hysteresis into speech
 * regions, and planning of ≤ 30 s chunks for Whisper. Pure: no model or framework code here.
 */

export interface SpeechProbabilityModel {
  readonly frameSamples: number;
  /** One probability per frameSamples-long frame; the last partial frame counts as a frame. */
  speechProbabilities(samples: Float32Array): Promise<Float32Array>;
}

/** Half-open sample range [start, end). */
export interface SpeechRegion {
  start: number;
  end: number;
}

export interface VadOptions {
  /** A frame at or above this probability starts (or continues) speech. */
  threshold: number;
  /** Speech ends only below this probability; defaults to max(threshold - 0.15, 0.01). */
  negThreshold?: number;
  /** Regions shorter than this (before padding) are dropped. */
  minSpeechMs: number;
  /** A pause must last this long to end a region. */
  minSilenceMs: number;
  /** Added on both sides of each region; regions that then touch are merged. */
  speechPadMs: number;
  sampleRate: number;
  frameSamples: number;
}

/**
 * Tuned on the dev set for feeding Whisper, where lost speech costs far more than kept silence:
 * - threshold 0.5 / neg 0.35: Silero's own hysteresis;
 * - minSpeechMs 100: the 100-250 ms detections in the dev meetings all lay inside annotated
 *   speech (short words), and no noise came near the threshold;
 * - minSilenceMs 100: Silero's default; with the padding below only pauses over ~0.4 s
 *   separate regions anyway;
 * - speechPadMs 200: Silero releases early on fading word endings and reacts late on soft
 *   onsets; 30 ms left up to 8% of a dev utterance outside the regions, 200 ms nothing.
 */
export const DEFAULT_VAD_OPTIONS: VadOptions = {
  threshold: 0.5,
  minSpeechMs: 100,
  minSilenceMs: 100,
  speechPadMs: 200,
  sampleRate: 16000,
  frameSamples: 512,
};

export function speechRegions(probs: Float32Array, totalSamples: number, opts: Partial<VadOptions> = {}): SpeechRegion[] {
  const o: VadOptions = { ...DEFAULT_VAD_OPTIONS, ...opts };
  const neg = o.negThreshold ?? Math.max(o.threshold - 0.15, 0.01);
  const F = o.frameSamples;
  const minSpeech = (o.minSpeechMs * o.sampleRate) / 1000;
  const minSilence = (o.minSilenceMs * o.sampleRate) / 1000;
  const pad = Math.round((o.speechPadMs * o.sampleRate) / 1000);
  const frames = Math.min(probs.length, Math.ceil(totalSamples / F));

  const raw: SpeechRegion[] = [];
  let start = -1; // start of the open region, -1 when none
  let silenceStart = -1; // first sample of the current pause inside the open region
  const close = (end: number): void => {
    if (end - start >= minSpeech) raw.push({ start, end });
    start = -1;
    silenceStart = -1;
  };
  for (let i = 0; i < frames; i++) {
    const p = probs[i];
    const pos = i * F;
    if (p >= o.threshold) {
      if (start < 0) start = pos;
      silenceStart = -1;
    } else if (start >= 0 && p < neg) {
      if (silenceStart < 0) silenceStart = pos;
      if (pos - silenceStart >= minSilence) close(silenceStart);
    }
  }
  if (start >= 0) close(totalSamples);

  const out: SpeechRegion[] = [];
  for (const r of raw) {
    const s = Math.max(0, r.start - pad);
    const e = Math.min(totalSamples, r.end + pad);
    const last = out[out.length - 1];
    if (last && s <= last.end) last.end = e;
    else out.push({ start: s, end: e });
  }
  return out;
}

/** Half-open sample range [start, end) of audio to transcribe as one unit. */
export interface AudioChunk {
  start: number;
  end: number;
}

/** Share of maxChunkSamples, ending at the limit, searched for a cut inside over-long speech. */
const SPLIT_SEARCH_FRACTION = 1 / 3;
/** Frames (~0.3 s) averaged when looking for a cut: a real pause, not a plosive's closure. */
const SPLIT_SMOOTH_FRAMES = 9;

/**
 * Group speech regions (sorted, non-overlapping) into chunks of at most maxChunkSamples.
 * Regions longer than the limit are first split at the least speech-like ~0.3 s in the last
 * third before the limit. The pieces are then grouped with the fewest chunks possible (each
 * chunk costs one 30 s Whisper pass however short it is) and, among those groupings, the one
 * whose cuts fall in the longest silences, so sentences stay together. Silence between
 * chunks is skipped; silence inside a chunk is kept.
 */
export function planChunks(regions: SpeechRegion[], probs: Float32Array, opts: { maxChunkSamples: number; frameSamples: number }): AudioChunk[] {
  const max = opts.maxChunkSamples;
  const pieces: SpeechRegion[] = [];
  for (const r of regions) {
    let s = r.start;
    while (r.end - s > max) {
      const cut = lowestProbabilityCut(probs, opts.frameSamples, s + max - max * SPLIT_SEARCH_FRACTION, s + max, s);
      pieces.push({ start: s, end: cut });
      s = cut;
    }
    if (r.end > s) pieces.push({ start: s, end: r.end });
  }

  // count[j]: fewest chunks for pieces[0..j); silence[j]: most silence skipped at their cuts
  // among those; from[j]: the first piece of the last of them.
  const m = pieces.length;
  const count = new Int32Array(m + 1);
  const silence = new Float64Array(m + 1);
  const from = new Int32Array(m + 1);
  for (let j = 1; j <= m; j++) {
    count[j] = 0x7fffffff;
    const end = pieces[j - 1].end;
    for (let i = j - 1; i >= 0 && end - pieces[i].start <= max; i--) {
      const c = count[i] + 1;
      const sil = silence[i] + (i > 0 ? pieces[i].start - pieces[i - 1].end : 0);
      if (c < count[j] || (c === count[j] && sil > silence[j])) {
        count[j] = c;
        silence[j] = sil;
        from[j] = i;
      }
    }
  }
  const chunks: AudioChunk[] = [];
  for (let j = m; j > 0; j = from[j]) chunks.push({ start: pieces[from[j]].start, end: pieces[j - 1].end });
  return chunks.reverse();
}

/**
 * Sample position in the middle of the frame, lying wholly inside [lo, hi], whose ~0.3 s
 * neighbourhood has the lowest mean probability; hi itself when no frame fits. Always > after,
 * so splitting makes progress.
 */
function lowestProbabilityCut(probs: Float32Array, F: number, lo: number, hi: number, after: number): number {
  const first = Math.max(0, Math.ceil(lo / F));
  const last = Math.min(probs.length, Math.floor(hi / F)) - 1;
  const half = SPLIT_SMOOTH_FRAMES >> 1;
  let best = -1;
  let bestMean = Infinity;
  for (let k = first; k <= last; k++) {
    const a = Math.max(0, k - half);
    const b = Math.min(probs.length, k + half + 1);
    let sum = 0;
    for (let i = a; i < b; i++) sum += probs[i];
    const mean = sum / (b - a);
    // <= prefers the later frame on ties: longer chunks.
    if (mean <= bestMean) {
      bestMean = mean;
      best = k;
    }
  }
  const cut = best < 0 ? hi : best * F + (F >> 1);
  return cut > after ? cut : hi;
}

export function fixedChunks(totalSamples: number, maxChunkSamples: number): AudioChunk[] {
  const chunks: AudioChunk[] = [];
  for (let s = 0; s < totalSamples; s += maxChunkSamples) {
    chunks.push({ start: s, end: Math.min(totalSamples, s + maxChunkSamples) });
  }
  return chunks;
}
