import { expectedCalibrationError, fitTemperature, negativeLogLikelihood, temper } from '../../libs/ml/calibration';
import { fitLogistic, predictLogistic } from '../../libs/ml/logistic-regression';
import { seededRandom } from '../../libs/math/seeded-random';
import { decideLabel } from '../../src/engine/core/emotion/decision';

const LABELS = ['neutral', 'calm', 'happy', 'angry'];

describe('decision rule', () => {
  it('says neutral unless another label beats neutral by the margin', () => {
    expect(decideLabel(LABELS, [0.3, 0.1, 0.2, 0.4], 0.15)).toBe('neutral');
    expect(decideLabel(LABELS, [0.2, 0.1, 0.2, 0.5], 0.15)).toBe('angry');
    expect(decideLabel(LABELS, [0.5, 0.1, 0.2, 0.2], 0.15)).toBe('neutral');
    // Margin 0, or no neutral label: the plain argmax.
    expect(decideLabel(LABELS, [0.3, 0.1, 0.2, 0.4], 0)).toBe('angry');
    expect(decideLabel(['sad', 'angry'], [0.45, 0.55], 0.2)).toBe('angry');
  });
});

/** Rows whose true class is drawn from their own (well-calibrated) probabilities, then made over-confident. */
function overconfidentRows(n: number, classes: number, sharpen: number) {
  const rand = seededRandom(3);
  const probs = new Float64Array(n * classes);
  const truth: number[] = [];
  for (let i = 0; i < n; i++) {
    const logits = Array.from({ length: classes }, () => 2 * rand());
    const e = logits.map(Math.exp);
    const sum = e.reduce((a, b) => a + b, 0);
    let u = rand();
    let t = 0;
    while (t < classes - 1 && (u -= e[t] / sum) > 0) t++;
    truth.push(t);
    e.forEach((v, k) => (probs[i * classes + k] = v / sum));
  }
  return { calibrated: probs, overconfident: temper(probs, classes, 1 / sharpen), truth };
}

describe('temperature scaling', () => {
  it('finds the temperature that undoes over-confidence, and lowers ECE and NLL', () => {
    const { calibrated, overconfident, truth } = overconfidentRows(4000, 4, 3);
    const t = fitTemperature(overconfident, truth, 4);
    expect(t).toBeGreaterThan(2.5);
    expect(t).toBeLessThan(3.5);
    const fixed = temper(overconfident, 4, t);
    expect(expectedCalibrationError(overconfident, truth, 4)).toBeGreaterThan(0.1);
    expect(expectedCalibrationError(fixed, truth, 4)).toBeLessThan(0.04);
    expect(expectedCalibrationError(calibrated, truth, 4)).toBeLessThan(0.04);
    expect(negativeLogLikelihood(fixed, truth, 4)).toBeLessThan(negativeLogLikelihood(overconfident, truth, 4));
  });

  it('ECE is the count-weighted gap between confidence and accuracy', () => {
    // Two rows at confidence 0.9 (one right), two at 0.6 (both right): |0.5 − 0.9|·2/4 + |1 − 0.6|·2/4 = 0.4.
    const probs = Float64Array.from([0.9, 0.1, 0.9, 0.1, 0.6, 0.4, 0.4, 0.6]);
    expect(expectedCalibrationError(probs, [0, 1, 0, 1], 2)).toBeCloseTo(0.4, 10);
  });
});

describe('class-balanced logistic regression', () => {
  it('a row of weight 2 counts as two copies of it', () => {
    const rand = seededRandom(9);
    const x = Float64Array.from({ length: 40 * 2 }, () => rand() * 2 - 1);
    const y = Int32Array.from({ length: 40 }, (_, i) => (x[i * 2] + 0.3 * x[i * 2 + 1] > 0 ? 1 : 0));
    const weights = Float64Array.from({ length: 40 }, (_, i) => (i < 10 ? 2 : 1));
    const weighted = fitLogistic(x, y, 2, 2, { lambda: 0.01, sampleWeights: weights, tolerance: 1e-10, maxIterations: 2000 });
    const xDup = new Float64Array(50 * 2);
    xDup.set(x);
    xDup.set(x.subarray(0, 20), 80);
    const yDup = Int32Array.from([...y, ...y.subarray(0, 10)]);
    const duplicated = fitLogistic(xDup, yDup, 2, 2, { lambda: 0.01, tolerance: 1e-10, maxIterations: 2000 });
    const probe = Float64Array.from([0.2, -0.4, -0.7, 0.1]);
    const a = predictLogistic(weighted, probe);
    const b = predictLogistic(duplicated, probe);
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 5));
  });
});
