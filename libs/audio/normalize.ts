/**
 * Zero mean, unit variance, as transformers' Wav2Vec2FeatureExtractor does with `do_normalize`:
 * (x − mean) / sqrt(var + 1e-7), population variance.
 */
export function zeroMeanUnitVariance(samples: Float32Array): Float32Array {
  const n = samples.length;
  if (n === 0) return new Float32Array(0);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += samples[i];
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (samples[i] - mean) ** 2;
  const scale = 1 / Math.sqrt(sq / n + 1e-7);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (samples[i] - mean) * scale;
  return out;
}
