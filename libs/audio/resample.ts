/**
 * Band-limited polyphase resampler (Kaiser-windowed sinc) for any ratio of integer sample rates.
 *
 * Output sample k sits at input time t = k·from/to. With the ratio reduced to up/down, t has `up`
 * possible fractional parts, so one filter row per fractional part is precomputed and every output
 * is a dot product of one row with consecutive input samples (zero outside the input).
 * The lowpass cutoff is ROLLOFF × the lower Nyquist frequency, so downsampling does not alias into
 * the passband; the kernel spans ZERO_CROSSINGS periods of the lower rate on each side.
 */

/** −6 dB point of the lowpass as a fraction of the lower Nyquist frequency. */
const ROLLOFF = 0.9;
/** Kernel half-width in periods of the lower rate; cost per output ≈ 2·ZERO_CROSSINGS·max(1, from/to) taps. */
const ZERO_CROSSINGS = 10;
/** Kaiser β: stopband ≈ −75 dB. */
const KAISER_BETA = 7.5;
const MAX_CACHED_PLANS = 16;

interface Plan {
  up: number;
  down: number;
  taps: number;
  /** Row r (output phase r within a block of `up` outputs) holds taps coefficients at r·taps. */
  coeffs: Float32Array;
  /** Input index of the first tap of phase r, relative to the block's first input sample. */
  firstInput: Int32Array;
}

const plans = new Map<string, Plan>();

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; term > 1e-17 * sum; k++) {
    term *= q / (k * k);
    sum += term;
  }
  return sum;
}

function buildPlan(fromRate: number, toRate: number): Plan {
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  const lowRate = Math.min(fromRate, toRate);
  // Filter in units of input samples: cutoff in cycles/sample, half-width in samples.
  const cutoff = (ROLLOFF * 0.5 * lowRate) / fromRate;
  const halfWidth = (ZERO_CROSSINGS * fromRate) / lowRate;
  const half = Math.ceil(halfWidth);
  const taps = 2 * half;
  const coeffs = new Float32Array(up * taps);
  const firstInput = new Int32Array(up);
  const row = new Float64Array(taps);
  const i0Beta = besselI0(KAISER_BETA);
  for (let r = 0; r < up; r++) {
    const phase = (r * down) % up;
    firstInput[r] = Math.floor((r * down) / up) - half + 1;
    let sum = 0;
    for (let j = 0; j < taps; j++) {
      // Distance from the output instant to the input sample this tap multiplies.
      const tau = phase / up + half - 1 - j;
      const u = tau / halfWidth;
      let h = 0;
      if (Math.abs(u) < 1) {
        const x = 2 * cutoff * tau;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        h = sinc * (besselI0(KAISER_BETA * Math.sqrt(1 - u * u)) / i0Beta);
      }
      row[j] = h;
      sum += h;
    }
    // Unity DC gain for every phase (removes the small per-phase ripple of the truncated kernel).
    for (let j = 0; j < taps; j++) coeffs[r * taps + j] = row[j] / sum;
  }
  return { up, down, taps, coeffs, firstInput };
}

function planFor(fromRate: number, toRate: number): Plan {
  const key = `${fromRate}:${toRate}`;
  let plan = plans.get(key);
  if (!plan) {
    plan = buildPlan(fromRate, toRate);
    if (plans.size >= MAX_CACHED_PLANS) plans.delete(plans.keys().next().value as string);
    plans.set(key, plan);
  }
  return plan;
}

/** Output sample `k` with inputs outside [0, n) taken as zero (used near the edges only). */
function edgeSample(x: Float32Array, plan: Plan, k: number): number {
  const { up, down, taps, coeffs, firstInput } = plan;
  const r = k % up;
  const start = ((k - r) / up) * down + firstInput[r];
  const row = r * taps;
  const from = Math.max(0, -start);
  const to = Math.min(taps, x.length - start);
  let s = 0;
  for (let j = from; j < to; j++) s += x[start + j] * coeffs[row + j];
  return s;
}

/**
 * Resamples `samples` from `fromRate` to `toRate` (integer Hz). Returns `samples` itself when the
 * rates are equal; otherwise round(n·toRate/fromRate) samples aligned so that output 0 = input 0.
 */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  for (const rate of [fromRate, toRate]) {
    if (!Number.isSafeInteger(rate) || rate <= 0) throw new RangeError(`sample rate must be a positive integer, got ${rate}`);
  }
  if (fromRate === toRate) return samples;
  const plan = planFor(fromRate, toRate);
  const { up, down, taps, coeffs, firstInput } = plan;
  const n = samples.length;
  const outLen = Math.round((n * up) / down);
  const out = new Float32Array(outLen);
  const x = samples;
  const lastFirst = firstInput[up - 1];
  // Outputs come in blocks of `up` that advance the input by `down`. Eight blocks at a time share
  // each coefficient row, which keeps eight independent sums in flight per loaded coefficient.
  for (let block = 0; block * up < outLen; block += 8) {
    const base = block * down;
    const interior = base + firstInput[0] >= 0 && base + 7 * down + lastFirst + taps <= n && (block + 8) * up <= outLen;
    if (!interior) {
      const end = Math.min(outLen, (block + 8) * up);
      for (let k = block * up; k < end; k++) out[k] = edgeSample(x, plan, k);
      continue;
    }
    for (let r = 0; r < up; r++) {
      const row = r * taps;
      let i = base + firstInput[r];
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let s4 = 0;
      let s5 = 0;
      let s6 = 0;
      let s7 = 0;
      for (let j = row; j < row + taps; j++, i++) {
        const c = coeffs[j];
        s0 += x[i] * c;
        s1 += x[i + down] * c;
        s2 += x[i + 2 * down] * c;
        s3 += x[i + 3 * down] * c;
        s4 += x[i + 4 * down] * c;
        s5 += x[i + 5 * down] * c;
        s6 += x[i + 6 * down] * c;
        s7 += x[i + 7 * down] * c;
      }
      const k = block * up + r;
      out[k] = s0;
      out[k + up] = s1;
      out[k + 2 * up] = s2;
      out[k + 3 * up] = s3;
      out[k + 4 * up] = s4;
      out[k + 5 * up] = s5;
      out[k + 6 * up] = s6;
      out[k + 7 * up] = s7;
    }
  }
  return out;
}
