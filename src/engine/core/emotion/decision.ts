/**
 * The label a score row stands for: neutral unless another label's score is ahead of neutral's by at least
 * `neutralMargin`, so weak evidence does not turn into a strong label; then the highest-scoring label. A model
 * without a neutral label, or a margin of 0, gets the plain argmax.
 */
export function decideLabel(labels: readonly string[], scores: ArrayLike<number>, neutralMargin: number): string {
  let best = 0;
  for (let k = 1; k < labels.length; k++) if (scores[k] > scores[best]) best = k;
  const neutral = labels.indexOf('neutral');
  if (neutral < 0 || neutralMargin <= 0 || best === neutral) return labels[best];
  return scores[best] - scores[neutral] >= neutralMargin ? labels[best] : 'neutral';
}
