/**
 * The span of a clean recording that holds its speech: from the first to the last run of at least `minRunS` of
 * 10 ms frames whose power is within `floorDb` of the loudest frame. Meant for studio clips with a quiet noise
 * floor (RAVDESS pads each sentence with about a second of near-silence, sometimes with a breath or a click in
 * it), where it gives exact reference turns; not a VAD.
 */
export function speechExtent(samples: Float32Array, sampleRate: number, floorDb = -30, minRunS = 0.15): [number, number] {
  const frame = Math.max(1, Math.round(sampleRate / 100));
  const frames = Math.floor(samples.length / frame);
  const power = new Float64Array(frames);
  let peak = 0;
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let i = f * frame; i < (f + 1) * frame; i++) sum += samples[i] * samples[i];
    power[f] = sum / frame;
    peak = Math.max(peak, power[f]);
  }
  const floor = peak * 10 ** (floorDb / 10);
  const minRun = Math.max(1, Math.round(minRunS * 100));
  let first = -1;
  let last = -1;
  for (let f = 0, run = 0; f < frames; f++) {
    run = peak > 0 && power[f] >= floor ? run + 1 : 0;
    if (run === minRun && first < 0) first = f - minRun + 1;
    if (run >= minRun) last = f;
  }
  return first < 0 ? [0, 0] : [first * frame, (last + 1) * frame];
}
