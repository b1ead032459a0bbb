/**
 * The p-th percentile (0..100) of `values`, interpolating linearly between the two nearest ranks (the method of
 * numpy's default and Excel's PERCENTILE.INC); null when there are no values. `values` is left as it is.
 */
export function percentile(values: Float64Array, p: number): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = (Math.min(Math.max(p, 0), 100) / 100) * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (rank - below);
}
