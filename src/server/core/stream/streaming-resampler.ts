import { resample } from '../../../../libs/audio/resample';

/** Input samples kept on each side of an output: covers the resampler's kernel for every supported rate pair. */
const KERNEL_MARGIN_S = 0.005;

/**
 * Resamples audio that arrives in pieces to the same samples `resample` gives for the whole signal at once: each
 * call resamples the pending input together with enough history for the kernel, keeps only the outputs whose
 * kernel lies wholly inside it, and holds back the input the next outputs still need.
 */
export class StreamingResampler {
  private readonly up: number;
  private readonly down: number;
  private readonly margin: number;
  private pending = new Float32Array(0);
  /** Absolute input index of pending[0]: always a multiple of `down`, so output index pendingStart·up/down is exact. */
  private pendingStart = 0;
  /** Absolute index of the next output to emit. */
  private emitted = 0;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    const g = gcd(fromRate, toRate);
    this.up = toRate / g;
    this.down = fromRate / g;
    this.margin = Math.ceil(KERNEL_MARGIN_S * fromRate) + this.down;
  }

  /** New output samples made final by `input`. */
  push(input: Float32Array): Float32Array {
    if (this.fromRate === this.toRate) return input;
    this.append(input);
    const available = this.pendingStart + this.pending.length;
    // Output k reads inputs up to k·down/up + margin.
    const last = Math.floor(((available - this.margin) * this.up) / this.down);
    return this.emitUpTo(last);
  }

  /** The rest of the output, the signal ending with zeros as `resample` treats it. */
  flush(): Float32Array {
    if (this.fromRate === this.toRate) return new Float32Array(0);
    const total = Math.round(((this.pendingStart + this.pending.length) * this.up) / this.down);
    return this.emitUpTo(total);
  }

  private append(input: Float32Array): void {
    const next = new Float32Array(this.pending.length + input.length);
    next.set(this.pending);
    next.set(input, this.pending.length);
    this.pending = next;
  }

  private emitUpTo(end: number): Float32Array {
    if (end <= this.emitted) return new Float32Array(0);
    const firstOut = (this.pendingStart / this.down) * this.up;
    const out = resample(this.pending, this.fromRate, this.toRate).slice(this.emitted - firstOut, end - firstOut);
    this.emitted = end;
    // Keep the input that outputs from `emitted` on still read, from a multiple of `down`.
    const needFrom = Math.floor((this.emitted * this.down) / this.up) - this.margin;
    const keepFrom = Math.max(this.pendingStart, Math.floor(needFrom / this.down) * this.down);
    this.pending = this.pending.slice(keepFrom - this.pendingStart);
    this.pendingStart = keepFrom;
    return out;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
