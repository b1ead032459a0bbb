/**
 * Multinomial logistic regression with an L2 penalty, fitted with L-BFGS: the small, convex training problem of
 * Earshot's emotion head. Pure and deterministic (starts from zero weights).
 */

export interface LogisticModel {
  /** [dim × classes], row-major. */
  weights: Float64Array;
  bias: Float64Array;
  dim: number;
  classes: number;
}

export interface FitOptions {
  /** Penalty λ/2·‖W‖² added to the mean cross-entropy (the bias is not penalised). */
  lambda: number;
  maxIterations?: number;
  /** Stop when the gradient norm falls below this. */
  tolerance?: number;
  /** Pairs kept by L-BFGS. */
  memory?: number;
  /** Weight of each row in the mean cross-entropy (e.g. to balance classes); all 1 when absent. */
  sampleWeights?: Float64Array;
}

/** Weighted mean penalised cross-entropy and its gradient at params = [weights, bias]. */
function lossAndGradient(
  params: Float64Array,
  x: Float64Array,
  y: Int32Array,
  rowWeights: Float64Array,
  dim: number,
  classes: number,
  lambda: number,
  grad: Float64Array,
): number {
  const n = y.length;
  let totalWeight = 0;
  for (let i = 0; i < n; i++) totalWeight += rowWeights[i];
  const wSize = dim * classes;
  grad.fill(0);
  const logits = new Float64Array(classes);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    for (let k = 0; k < classes; k++) logits[k] = params[wSize + k];
    for (let d = 0; d < dim; d++) {
      const v = x[row + d];
      if (v === 0) continue;
      const w = d * classes;
      for (let k = 0; k < classes; k++) logits[k] += v * params[w + k];
    }
    let max = -Infinity;
    for (let k = 0; k < classes; k++) if (logits[k] > max) max = logits[k];
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(logits[k] - max);
    const logSum = max + Math.log(sum);
    const weight = rowWeights[i];
    loss += weight * (logSum - logits[y[i]]);
    for (let k = 0; k < classes; k++) logits[k] = weight * (Math.exp(logits[k] - logSum) - (k === y[i] ? 1 : 0));
    for (let d = 0; d < dim; d++) {
      const v = x[row + d];
      if (v === 0) continue;
      const w = d * classes;
      for (let k = 0; k < classes; k++) grad[w + k] += v * logits[k];
    }
    for (let k = 0; k < classes; k++) grad[wSize + k] += logits[k];
  }
  let penalty = 0;
  for (let j = 0; j < params.length; j++) {
    grad[j] /= totalWeight;
    if (j < wSize) {
      grad[j] += lambda * params[j];
      penalty += params[j] * params[j];
    }
  }
  return loss / totalWeight + (lambda / 2) * penalty;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Fits on rows x [n × dim] with labels y in [0, classes). */
export function fitLogistic(x: Float64Array, y: Int32Array, dim: number, classes: number, options: FitOptions): LogisticModel {
  const { lambda, maxIterations = 500, tolerance = 1e-6, memory = 10 } = options;
  const rowWeights = options.sampleWeights ?? new Float64Array(y.length).fill(1);
  const size = dim * classes + classes;
  let params = new Float64Array(size);
  let grad = new Float64Array(size);
  let loss = lossAndGradient(params, x, y, rowWeights, dim, classes, lambda, grad);
  const s: Float64Array[] = [];
  const yDiff: Float64Array[] = [];
  const rho: number[] = [];
  const direction = new Float64Array(size);
  const alpha = new Float64Array(memory);
  for (let iter = 0; iter < maxIterations && Math.sqrt(dot(grad, grad)) > tolerance; iter++) {
    // Two-loop recursion: direction = -H·grad.
    direction.set(grad);
    for (let j = s.length - 1; j >= 0; j--) {
      alpha[j] = rho[j] * dot(s[j], direction);
      for (let i = 0; i < size; i++) direction[i] -= alpha[j] * yDiff[j][i];
    }
    const gamma =
      s.length > 0 ? dot(s[s.length - 1], yDiff[yDiff.length - 1]) / dot(yDiff[yDiff.length - 1], yDiff[yDiff.length - 1]) : 1 / Math.sqrt(dot(grad, grad));
    for (let i = 0; i < size; i++) direction[i] *= gamma;
    for (let j = 0; j < s.length; j++) {
      const beta = rho[j] * dot(yDiff[j], direction);
      for (let i = 0; i < size; i++) direction[i] += s[j][i] * (alpha[j] - beta);
    }
    for (let i = 0; i < size; i++) direction[i] = -direction[i];
    let slope = dot(grad, direction);
    if (slope >= 0) {
      // Not a descent direction: restart from steepest descent.
      s.length = yDiff.length = rho.length = 0;
      for (let i = 0; i < size; i++) direction[i] = -grad[i];
      slope = -dot(grad, grad);
    }
    // Backtracking line search (Armijo).
    let step = 1;
    const next = new Float64Array(size);
    const nextGrad = new Float64Array(size);
    let nextLoss = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < size; i++) next[i] = params[i] + step * direction[i];
      nextLoss = lossAndGradient(next, x, y, rowWeights, dim, classes, lambda, nextGrad);
      if (nextLoss <= loss + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(nextLoss < loss)) break;
    const sk = new Float64Array(size);
    const yk = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      sk[i] = next[i] - params[i];
      yk[i] = nextGrad[i] - grad[i];
    }
    const sy = dot(sk, yk);
    if (sy > 1e-12) {
      if (s.length === memory) {
        s.shift();
        yDiff.shift();
        rho.shift();
      }
      s.push(sk);
      yDiff.push(yk);
      rho.push(1 / sy);
    }
    params = next;
    grad = nextGrad;
    loss = nextLoss;
  }
  return { weights: params.slice(0, dim * classes), bias: params.slice(dim * classes), dim, classes };
}

/** Class probabilities [n × classes] of rows x [n × dim]. */
export function predictLogistic(model: LogisticModel, x: Float64Array): Float64Array {
  const { dim, classes, weights, bias } = model;
  const n = x.length / dim;
  const out = new Float64Array(n * classes);
  for (let i = 0; i < n; i++) {
    const o = i * classes;
    for (let k = 0; k < classes; k++) out[o + k] = bias[k];
    for (let d = 0; d < dim; d++) {
      const v = x[i * dim + d];
      for (let k = 0; k < classes; k++) out[o + k] += v * weights[d * classes + k];
    }
    let max = -Infinity;
    for (let k = 0; k < classes; k++) if (out[o + k] > max) max = out[o + k];
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += out[o + k] = Math.exp(out[o + k] - max);
    for (let k = 0; k < classes; k++) out[o + k] /= sum;
  }
  return out;
}

/** Per-column mean and standard deviation (a constant column gets std 1). */
export function columnStats(x: Float64Array, dim: number): { mean: Float64Array; std: Float64Array } {
  const n = x.length / dim;
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d] += x[i * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= n;
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) std[d] += (x[i * dim + d] - mean[d]) ** 2;
  for (let d = 0; d < dim; d++) std[d] = Math.sqrt(std[d] / n) || 1;
  return { mean, std };
}

export function standardize(x: Float64Array, dim: number, stats: { mean: Float64Array; std: Float64Array }): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] - stats.mean[i % dim]) / stats.std[i % dim];
  return out;
}

/**
 * The same classifier on raw features: z-scoring folded into the weights, W' = W/σ, b' = b − Σ μ/σ·W.
 */
export function foldStandardization(model: LogisticModel, stats: { mean: Float64Array; std: Float64Array }): LogisticModel {
  const { dim, classes } = model;
  const weights = new Float64Array(dim * classes);
  const bias = Float64Array.from(model.bias);
  for (let d = 0; d < dim; d++) {
    for (let k = 0; k < classes; k++) {
      const w = model.weights[d * classes + k] / stats.std[d];
      weights[d * classes + k] = w;
      bias[k] -= stats.mean[d] * w;
    }
  }
  return { weights, bias, dim, classes };
}
