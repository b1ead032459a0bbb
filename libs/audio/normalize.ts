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

/** Root mean square level in dBFS (−Infinity for silence). */
export function rmsDbfs(samples: Float32Array): number {
  let sq = 0;
  for (let i = 0; i < samples.length; i++) sq += samples[i] * samples[i];
  return 10 * Math.log10(sq / Math.max(1, samples.length));
}

/**
 * `samples` scaled to an RMS of `targetDbfs`, the gain limited to ±`maxGainDb` (so near-silence is not blown up into
 * loud noise). Whisper's log-mel keeps the absolute level, and a recording's level says more about the microphone
 * than about the speaker: the emotion head sees every piece at one level.
 */
export function normalizeLoudness(samples: Float32Array, targetDbfs: number, maxGainDb: number): Float32Array {
  const level = rmsDbfs(samples);
  const gainDb = Number.isFinite(level) ? Math.max(-maxGainDb, Math.min(maxGainDb, targetDbfs - level)) : 0;
  const gain = 10 ** (gainDb / 20);
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] * gain;
  return out;
}
