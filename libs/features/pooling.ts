import { WHISPER_HOP_LENGTH, WHISPER_N_FRAMES, whisperLogMel } from './mel';

/** Audio samples per Whisper encoder frame (two mel hops: the encoder's second convolution has stride 2). */
export const ENCODER_FRAME_SAMPLES = 2 * WHISPER_HOP_LENGTH;

/**
 * Whisper log-mel of a short window: the first `melFrames` frames of the 30 s features, written row by row into
 * `out` at `outOffset` ([nMels × melFrames]). The 30 s computation skips the padding cheaply, and its normalisation
 * (clamp 8 below the maximum) only sees the real audio, so this equals a window of that length.
 */
export function shortWindowLogMel(samples: Float32Array, nMels: 80 | 128, melFrames: number, out: Float32Array, outOffset = 0): void {
  if (melFrames > WHISPER_N_FRAMES) throw new RangeError(`a window holds at most ${WHISPER_N_FRAMES} mel frames`);
  if (melFrames === WHISPER_N_FRAMES) {
    whisperLogMel(samples, nMels, out, outOffset);
    return;
  }
  const full = whisperLogMel(samples.subarray(0, melFrames * WHISPER_HOP_LENGTH), nMels);
  for (let m = 0; m < nMels; m++) {
    out.set(full.subarray(m * WHISPER_N_FRAMES, m * WHISPER_N_FRAMES + melFrames), outOffset + m * melFrames);
  }
}

/** Encoder frames that hold real audio for `samples` samples (at least 1, at most `frames`). */
export function validFrames(samples: number, frames: number): number {
  return Math.max(1, Math.min(frames, Math.ceil(samples / ENCODER_FRAME_SAMPLES)));
}

/**
 * Mean then (population) standard deviation over the first `valid` rows of `hidden` ([rows × width] from
 * `offset`) → `out` [2 × width] at `outOffset`.
 */
export function meanStdPool(hidden: Float32Array, offset: number, width: number, valid: number, out: Float32Array, outOffset = 0): void {
  for (let d = 0; d < width; d++) {
    let sum = 0;
    for (let t = 0; t < valid; t++) sum += hidden[offset + t * width + d];
    const mean = sum / valid;
    let sq = 0;
    for (let t = 0; t < valid; t++) {
      const x = hidden[offset + t * width + d] - mean;
      sq += x * x;
    }
    out[outOffset + d] = mean;
    out[outOffset + width + d] = Math.sqrt(sq / valid);
  }
}
