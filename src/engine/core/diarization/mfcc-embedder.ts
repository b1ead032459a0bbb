import { MFCC_OPTIONS, mfcc } from '../../../../libs/features/filterbank';
import type { SampleRange, SpeakerEmbedder } from './models';

export const MFCC_EMBEDDER_NAME = 'builtin-mfcc-stats';

/**
 * The speaker features used when no embedding model is installed: per piece, mean and standard deviation of
 * MFCC c1…c16 (32 dims), each dimension z-scored across the file's pieces, then L2-normalised. Weak on its own;
 * the diarizer leans on the segmentation model's local tracks and feeds this only whole pieces of ~3 s.
 */
export class MfccStatsEmbedder implements SpeakerEmbedder {
  readonly name = MFCC_EMBEDDER_NAME;
  readonly clustering = { voiceDistance: 1.0, sameVoiceDistance: 0.45 };

  async embed(audio: Float32Array, pieces: readonly (readonly SampleRange[])[]): Promise<Float32Array[]> {
    const C = MFCC_OPTIONS.numCoefficients;
    const stats = pieces.map((ranges) => {
      const frames = mfcc(concatenate(audio, ranges));
      const n = frames.length / C;
      const v = new Float32Array(2 * C);
      for (let c = 0; c < C; c++) {
        let sum = 0;
        let sq = 0;
        for (let f = 0; f < n; f++) {
          const x = frames[f * C + c];
          sum += x;
          sq += x * x;
        }
        const mean = n > 0 ? sum / n : 0;
        v[c] = mean;
        v[C + c] = n > 0 ? Math.sqrt(Math.max(sq / n - mean * mean, 0)) : 0;
      }
      return v;
    });
    return zScoreAndNormalise(stats);
  }
}

/** Pieces' samples laid end to end. */
export function concatenate(audio: Float32Array, ranges: readonly SampleRange[]): Float32Array {
  const total = ranges.reduce((s, [a, b]) => s + (b - a), 0);
  const out = new Float32Array(total);
  let o = 0;
  for (const [a, b] of ranges) {
    out.set(audio.subarray(a, b), o);
    o += b - a;
  }
  return out;
}

/** Each dimension z-scored across the vectors, then each vector scaled to unit length (in place). */
export function zScoreAndNormalise(vectors: Float32Array[]): Float32Array[] {
  if (vectors.length === 0) return vectors;
  const dim = vectors[0].length;
  for (let d = 0; d < dim; d++) {
    let sum = 0;
    let sq = 0;
    for (const v of vectors) {
      sum += v[d];
      sq += v[d] * v[d];
    }
    const mean = sum / vectors.length;
    const std = Math.sqrt(Math.max(sq / vectors.length - mean * mean, 0)) || 1;
    for (const v of vectors) v[d] = (v[d] - mean) / std;
  }
  for (const v of vectors) {
    const norm = Math.hypot(...v) || 1;
    for (let d = 0; d < dim; d++) v[d] /= norm;
  }
  return vectors;
}
