/**
 * Greedy best-first one-to-one pairing: the highest-scoring pair first, then the next among those whose sides are
 * both still free, so no side is paired twice (with few items, as here, it agrees with the Hungarian optimum
 * whenever the best pair is clearly best). Pairs come back in that order.
 */
export function bestFirstPairs<P extends { score: number }>(pairs: readonly P[], left: (p: P) => unknown, right: (p: P) => unknown): P[] {
  const usedLeft = new Set<unknown>();
  const usedRight = new Set<unknown>();
  const chosen: P[] = [];
  for (const p of [...pairs].sort((a, b) => b.score - a.score)) {
    if (usedLeft.has(left(p)) || usedRight.has(right(p))) continue;
    usedLeft.add(left(p));
    usedRight.add(right(p));
    chosen.push(p);
  }
  return chosen;
}
