/** Unit vectors minus their weighted mean, each scaled back to unit length (a vector equal to the mean stays zero). */
export function centred(vectors: readonly Float32Array[], weights: ArrayLike<number>): Float32Array[] {
  if (vectors.length === 0) return [];
  const dim = vectors[0].length;
  const units = vectors.map((v) => {
    const norm = Math.hypot(...v) || 1;
    return Float32Array.from(v, (x) => x / norm);
  });
  const mean = new Float64Array(dim);
  let total = 0;
  units.forEach((u, i) => {
    total += weights[i];
    for (let d = 0; d < dim; d++) mean[d] += weights[i] * u[d];
  });
  if (total > 0) for (let d = 0; d < dim; d++) mean[d] /= total;
  return units.map((u) => {
    const c = Float32Array.from(u, (x, d) => x - mean[d]);
    const norm = Math.hypot(...c);
    return norm > 0 ? c.map((x) => x / norm) : c;
  });
}
