/**
 * Calibration of class probabilities: temperature scaling (Guo et al. 2017) and the expected calibration error that
 * measures it. Rows are [n × classes] probabilities, row-major.
 */

/** Rows re-tempered: softmax(log p / T). */
export function temper(probs: Float64Array, classes: number, temperature: number): Float64Array {
  const out = new Float64Array(probs.length);
  for (let o = 0; o < probs.length; o += classes) {
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, Math.log(Math.max(probs[o + k], 1e-12)) / temperature);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += out[o + k] = Math.exp(Math.log(Math.max(probs[o + k], 1e-12)) / temperature - max);
    for (let k = 0; k < classes; k++) out[o + k] /= sum;
  }
  return out;
}

/** Mean negative log-likelihood of the true classes. */
export function negativeLogLikelihood(probs: Float64Array, truth: ArrayLike<number>, classes: number): number {
  let total = 0;
  for (let i = 0; i < truth.length; i++) total -= Math.log(Math.max(probs[i * classes + truth[i]], 1e-12));
  return total / truth.length;
}

/** The temperature in [0.25, 8] (log grid, then refined) that minimises the NLL of held-out rows. */
export function fitTemperature(probs: Float64Array, truth: ArrayLike<number>, classes: number): number {
  const nll = (t: number): number => negativeLogLikelihood(temper(probs, classes, t), truth, classes);
  let best = 1;
  let bestNll = nll(1);
  for (let step = 0.1, lo = Math.log(0.25), hi = Math.log(8); step > 0.002; step /= 5) {
    for (let x = lo; x <= hi + 1e-9; x += step) {
      const v = nll(Math.exp(x));
      if (v < bestNll) [best, bestNll] = [Math.exp(x), v];
    }
    [lo, hi] = [Math.log(best) - step, Math.log(best) + step];
  }
  return best;
}

/**
 * Expected calibration error: rows binned by their top probability into `bins` equal-width bins, the
 * count-weighted mean of |accuracy − mean confidence| per bin.
 */
export function expectedCalibrationError(probs: Float64Array, truth: ArrayLike<number>, classes: number, bins = 10): number {
  const count = new Float64Array(bins);
  const correct = new Float64Array(bins);
  const confidence = new Float64Array(bins);
  for (let i = 0; i < truth.length; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (probs[i * classes + k] > probs[i * classes + best]) best = k;
    const p = probs[i * classes + best];
    const b = Math.min(bins - 1, Math.floor(p * bins));
    count[b]++;
    confidence[b] += p;
    if (best === truth[i]) correct[b]++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b] > 0) ece += Math.abs(correct[b] - confidence[b]);
  return ece / truth.length;
}
