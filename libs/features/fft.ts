/**
 * Exact FFTs of any size: a mixed-radix Stockham (self-sorting) complex FFT with
 * specialised radix-2/3/4/5 passes and a generic pass for other prime factors,
 * plus a real FFT built on a half-size complex FFT. Twiddles are precomputed and
 * all scratch memory is allocated once per instance, so transforms allocate nothing.
 * Instances are not re-entrant (they share scratch buffers between calls).
 */

interface Stage {
  radix: number;
  /** Length of the sub-DFTs already combined before this stage. */
  span: number;
  /** Distance between the inputs of one butterfly (n / (span * radix)). */
  stride: number;
  /** twRe/twIm[k * (radix - 1) + q - 1] = exp(-2πi q k / (span * radix)). */
  twRe: Float64Array;
  twIm: Float64Array;
  /** exp(-2πi t / radix) for the generic pass; empty for radix 2-5. */
  rootRe: Float64Array;
  rootIm: Float64Array;
}

function factorize(n: number): number[] {
  const radices: number[] = [];
  let rest = n;
  while (rest % 4 === 0) {
    radices.push(4);
    rest /= 4;
  }
  for (let p = 2; rest > 1; p++) {
    while (rest % p === 0) {
      radices.push(p);
      rest /= p;
    }
    if (p * p > rest && rest > 1) {
      radices.push(rest);
      break;
    }
  }
  return radices;
}

/** Forward complex DFT, X[k] = Σ x[t]·exp(-2πi·kt/n), on split real/imaginary arrays. */
export class ComplexFft {
  readonly size: number;
  private readonly stages: Stage[];
  private readonly scratchRe: Float64Array;
  private readonly scratchIm: Float64Array;
  /** Twiddled inputs of one butterfly of the generic pass (sized for the largest prime factor ≥ 7). */
  private readonly genRe: Float64Array;
  private readonly genIm: Float64Array;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`FFT size must be a positive integer, got ${n}`);
    this.size = n;
    this.scratchRe = new Float64Array(n);
    this.scratchIm = new Float64Array(n);
    this.stages = [];
    let span = 1;
    let maxGeneric = 0;
    for (const radix of factorize(n)) {
      const stride = n / (span * radix);
      const twRe = new Float64Array(span * (radix - 1));
      const twIm = new Float64Array(span * (radix - 1));
      for (let k = 0; k < span; k++) {
        for (let q = 1; q < radix; q++) {
          const angle = (-2 * Math.PI * q * k) / (span * radix);
          twRe[k * (radix - 1) + q - 1] = Math.cos(angle);
          twIm[k * (radix - 1) + q - 1] = Math.sin(angle);
        }
      }
      const generic = radix > 5;
      const rootRe = new Float64Array(generic ? radix : 0);
      const rootIm = new Float64Array(generic ? radix : 0);
      for (let t = 0; t < rootRe.length; t++) {
        rootRe[t] = Math.cos((-2 * Math.PI * t) / radix);
        rootIm[t] = Math.sin((-2 * Math.PI * t) / radix);
      }
      this.stages.push({ radix, span, stride, twRe, twIm, rootRe, rootIm });
      if (generic) maxGeneric = Math.max(maxGeneric, radix);
      span *= radix;
    }
    this.genRe = new Float64Array(maxGeneric);
    this.genIm = new Float64Array(maxGeneric);
  }

  /** Transforms re/im (each of length `size`) in place. */
  forward(re: Float64Array, im: Float64Array): void {
    let srcRe = re;
    let srcIm = im;
    let dstRe = this.scratchRe;
    let dstIm = this.scratchIm;
    for (const stage of this.stages) {
      switch (stage.radix) {
        case 2:
          pass2(stage, srcRe, srcIm, dstRe, dstIm);
          break;
        case 3:
          pass3(stage, srcRe, srcIm, dstRe, dstIm);
          break;
        case 4:
          pass4(stage, srcRe, srcIm, dstRe, dstIm);
          break;
        case 5:
          pass5(stage, srcRe, srcIm, dstRe, dstIm);
          break;
        default:
          this.passGeneric(stage, srcRe, srcIm, dstRe, dstIm);
      }
      const tRe = srcRe;
      const tIm = srcIm;
      srcRe = dstRe;
      srcIm = dstIm;
      dstRe = tRe;
      dstIm = tIm;
    }
    if (srcRe !== re) {
      re.set(srcRe);
      im.set(srcIm);
    }
  }

  private passGeneric(s: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
    const { radix: p, span, stride } = s;
    const m = stride * p;
    const ar = this.genRe;
    const ai = this.genIm;
    const cs = s.rootRe;
    const sn = s.rootIm;
    for (let k = 0; k < span; k++) {
      const tw = k * (p - 1) - 1;
      for (let r = 0; r < stride; r++) {
        const base = k * m + r;
        ar[0] = xr[base];
        ai[0] = xi[base];
        for (let q = 1; q < p; q++) {
          const vr = xr[base + q * stride];
          const vi = xi[base + q * stride];
          const wr = s.twRe[tw + q];
          const wi = s.twIm[tw + q];
          ar[q] = vr * wr - vi * wi;
          ai[q] = vr * wi + vi * wr;
        }
        for (let j = 0; j < p; j++) {
          let sr = 0;
          let si = 0;
          let e = 0;
          for (let q = 0; q < p; q++) {
            sr += ar[q] * cs[e] - ai[q] * sn[e];
            si += ar[q] * sn[e] + ai[q] * cs[e];
            e += j;
            if (e >= p) e -= p;
          }
          const out = (k + span * j) * stride + r;
          yr[out] = sr;
          yi[out] = si;
        }
      }
    }
  }
}

// Each pass combines `radix` sub-DFTs of length `span` (inputs `stride` apart, twiddled)
// into DFTs of length span*radix; see the Stage field comments for the index layout.

function pass2(s: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { span, stride, twRe, twIm } = s;
  const m = stride * 2;
  for (let k = 0; k < span; k++) {
    const w1r = twRe[k];
    const w1i = twIm[k];
    const inBase = k * m;
    const outBase = k * stride;
    const outStep = span * stride;
    for (let r = 0; r < stride; r++) {
      const i0 = inBase + r;
      const i1 = i0 + stride;
      const a0r = xr[i0];
      const a0i = xi[i0];
      const a1r = xr[i1] * w1r - xi[i1] * w1i;
      const a1i = xr[i1] * w1i + xi[i1] * w1r;
      const o = outBase + r;
      yr[o] = a0r + a1r;
      yi[o] = a0i + a1i;
      yr[o + outStep] = a0r - a1r;
      yi[o + outStep] = a0i - a1i;
    }
  }
}

const SIN_60 = Math.sqrt(3) / 2;

function pass3(s: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { span, stride, twRe, twIm } = s;
  const m = stride * 3;
  const outStep = span * stride;
  for (let k = 0; k < span; k++) {
    const w1r = twRe[2 * k];
    const w1i = twIm[2 * k];
    const w2r = twRe[2 * k + 1];
    const w2i = twIm[2 * k + 1];
    for (let r = 0; r < stride; r++) {
      const i0 = k * m + r;
      const i1 = i0 + stride;
      const i2 = i1 + stride;
      const a0r = xr[i0];
      const a0i = xi[i0];
      const a1r = xr[i1] * w1r - xi[i1] * w1i;
      const a1i = xr[i1] * w1i + xi[i1] * w1r;
      const a2r = xr[i2] * w2r - xi[i2] * w2i;
      const a2i = xr[i2] * w2i + xi[i2] * w2r;
      const sr = a1r + a2r;
      const si = a1i + a2i;
      const dr = (a1r - a2r) * SIN_60;
      const di = (a1i - a2i) * SIN_60;
      const mr = a0r - 0.5 * sr;
      const mi = a0i - 0.5 * si;
      const o = k * stride + r;
      yr[o] = a0r + sr;
      yi[o] = a0i + si;
      yr[o + outStep] = mr + di;
      yi[o + outStep] = mi - dr;
      yr[o + 2 * outStep] = mr - di;
      yi[o + 2 * outStep] = mi + dr;
    }
  }
}

function pass4(s: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { span, stride, twRe, twIm } = s;
  const m = stride * 4;
  const outStep = span * stride;
  for (let k = 0; k < span; k++) {
    const w1r = twRe[3 * k];
    const w1i = twIm[3 * k];
    const w2r = twRe[3 * k + 1];
    const w2i = twIm[3 * k + 1];
    const w3r = twRe[3 * k + 2];
    const w3i = twIm[3 * k + 2];
    for (let r = 0; r < stride; r++) {
      const i0 = k * m + r;
      const i1 = i0 + stride;
      const i2 = i1 + stride;
      const i3 = i2 + stride;
      const a0r = xr[i0];
      const a0i = xi[i0];
      const a1r = xr[i1] * w1r - xi[i1] * w1i;
      const a1i = xr[i1] * w1i + xi[i1] * w1r;
      const a2r = xr[i2] * w2r - xi[i2] * w2i;
      const a2i = xr[i2] * w2i + xi[i2] * w2r;
      const a3r = xr[i3] * w3r - xi[i3] * w3i;
      const a3i = xr[i3] * w3i + xi[i3] * w3r;
      const t0r = a0r + a2r;
      const t0i = a0i + a2i;
      const t1r = a0r - a2r;
      const t1i = a0i - a2i;
      const t2r = a1r + a3r;
      const t2i = a1i + a3i;
      const t3r = a1r - a3r;
      const t3i = a1i - a3i;
      const o = k * stride + r;
      yr[o] = t0r + t2r;
      yi[o] = t0i + t2i;
      yr[o + outStep] = t1r + t3i;
      yi[o + outStep] = t1i - t3r;
      yr[o + 2 * outStep] = t0r - t2r;
      yi[o + 2 * outStep] = t0i - t2i;
      yr[o + 3 * outStep] = t1r - t3i;
      yi[o + 3 * outStep] = t1i + t3r;
    }
  }
}

const C1_5 = Math.cos((2 * Math.PI) / 5);
const C2_5 = Math.cos((4 * Math.PI) / 5);
const S1_5 = Math.sin((2 * Math.PI) / 5);
const S2_5 = Math.sin((4 * Math.PI) / 5);

function pass5(s: Stage, xr: Float64Array, xi: Float64Array, yr: Float64Array, yi: Float64Array): void {
  const { span, stride, twRe, twIm } = s;
  const m = stride * 5;
  const outStep = span * stride;
  for (let k = 0; k < span; k++) {
    const t = 4 * k;
    const w1r = twRe[t];
    const w1i = twIm[t];
    const w2r = twRe[t + 1];
    const w2i = twIm[t + 1];
    const w3r = twRe[t + 2];
    const w3i = twIm[t + 2];
    const w4r = twRe[t + 3];
    const w4i = twIm[t + 3];
    for (let r = 0; r < stride; r++) {
      const i0 = k * m + r;
      const i1 = i0 + stride;
      const i2 = i1 + stride;
      const i3 = i2 + stride;
      const i4 = i3 + stride;
      const a0r = xr[i0];
      const a0i = xi[i0];
      const a1r = xr[i1] * w1r - xi[i1] * w1i;
      const a1i = xr[i1] * w1i + xi[i1] * w1r;
      const a2r = xr[i2] * w2r - xi[i2] * w2i;
      const a2i = xr[i2] * w2i + xi[i2] * w2r;
      const a3r = xr[i3] * w3r - xi[i3] * w3i;
      const a3i = xr[i3] * w3i + xi[i3] * w3r;
      const a4r = xr[i4] * w4r - xi[i4] * w4i;
      const a4i = xr[i4] * w4i + xi[i4] * w4r;
      const s14r = a1r + a4r;
      const s14i = a1i + a4i;
      const d14r = a1r - a4r;
      const d14i = a1i - a4i;
      const s23r = a2r + a3r;
      const s23i = a2i + a3i;
      const d23r = a2r - a3r;
      const d23i = a2i - a3i;
      // b1,b4 = A1 ∓ i·X1 and b2,b3 = A2 ∓ i·X2 (ω = exp(-2πi/5)).
      const A1r = a0r + C1_5 * s14r + C2_5 * s23r;
      const A1i = a0i + C1_5 * s14i + C2_5 * s23i;
      const X1r = S1_5 * d14r + S2_5 * d23r;
      const X1i = S1_5 * d14i + S2_5 * d23i;
      const A2r = a0r + C2_5 * s14r + C1_5 * s23r;
      const A2i = a0i + C2_5 * s14i + C1_5 * s23i;
      const X2r = S2_5 * d14r - S1_5 * d23r;
      const X2i = S2_5 * d14i - S1_5 * d23i;
      const o = k * stride + r;
      yr[o] = a0r + s14r + s23r;
      yi[o] = a0i + s14i + s23i;
      yr[o + outStep] = A1r + X1i;
      yi[o + outStep] = A1i - X1r;
      yr[o + 2 * outStep] = A2r + X2i;
      yi[o + 2 * outStep] = A2i - X2r;
      yr[o + 3 * outStep] = A2r - X2i;
      yi[o + 3 * outStep] = A2i + X2r;
      yr[o + 4 * outStep] = A1r - X1i;
      yi[o + 4 * outStep] = A1i + X1r;
    }
  }
}

/** Forward DFT of a real signal of even length n, computed with one complex FFT of length n/2. */
export class RealFft {
  readonly size: number;
  private readonly half: ComplexFft;
  private readonly zRe: Float64Array;
  private readonly zIm: Float64Array;
  private readonly wRe: Float64Array;
  private readonly wIm: Float64Array;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 2 || n % 2 !== 0) throw new RangeError(`real FFT size must be a positive even integer, got ${n}`);
    this.size = n;
    const h = n / 2;
    this.half = new ComplexFft(h);
    this.zRe = new Float64Array(h);
    this.zIm = new Float64Array(h);
    this.wRe = new Float64Array(h + 1);
    this.wIm = new Float64Array(h + 1);
    for (let k = 0; k <= h; k++) {
      this.wRe[k] = Math.cos((-2 * Math.PI * k) / n);
      this.wIm[k] = Math.sin((-2 * Math.PI * k) / n);
    }
  }

  /** Bins 0..n/2 of the spectrum of `input` (length n) into outRe/outIm (length ≥ n/2+1). */
  forward(input: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    const h = this.size / 2;
    const zr = this.zRe;
    const zi = this.zIm;
    for (let t = 0; t < h; t++) {
      zr[t] = input[2 * t];
      zi[t] = input[2 * t + 1];
    }
    this.half.forward(zr, zi);
    // Split Z = FFT(even + i·odd) into the spectra E of the even and O of the odd samples:
    // E[k] = (Z[k] + conj Z[h-k]) / 2, O[k] = (Z[k] - conj Z[h-k]) / 2i, X[k] = E[k] + w^k·O[k].
    outRe[0] = zr[0] + zi[0];
    outIm[0] = 0;
    outRe[h] = zr[0] - zi[0];
    outIm[h] = 0;
    const wRe = this.wRe;
    const wIm = this.wIm;
    for (let k = 1; k < h; k++) {
      const a = zr[k];
      const b = zi[k];
      const c = zr[h - k];
      const d = zi[h - k];
      const er = 0.5 * (a + c);
      const ei = 0.5 * (b - d);
      const or = 0.5 * (b + d);
      const oi = 0.5 * (c - a);
      outRe[k] = er + wRe[k] * or - wIm[k] * oi;
      outIm[k] = ei + wRe[k] * oi + wIm[k] * or;
    }
  }
}
