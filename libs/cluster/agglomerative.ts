export interface AgglomerativeOptions {
  /** Merging stops when the two closest clusters are farther apart than this mean cosine distance (0…2). */
  threshold: number;
  /** Exact number of clusters (when there are at least that many items); overrides threshold, min and max. */
  numClusters?: number;
  minClusters?: number;
  maxClusters?: number;
  /** Weight of each item (e.g. seconds of speech), for minClusterShare. Default 1 each. */
  weights?: ArrayLike<number>;
  /**
   * Clusters lighter than this share of the total weight are merged into their nearest neighbour once the
   * threshold stops merging, as long as the count stays within min/num: guards against over-counting speakers.
   */
  minClusterShare?: number;
  /** Start from this partition (one label per item) instead of one cluster per item. */
  initialLabels?: ArrayLike<number>;
}

/**
 * Agglomerative clustering with average linkage (UPGMA) on cosine distance: repeatedly merge the two clusters
 * whose items are closest on average. Keeps the n×n distance matrix (4·n² bytes) and each cluster's nearest
 * neighbour, so a run costs about n² per merge at worst. Returns a label 0…k−1 per item, numbered by first item.
 */
export function agglomerativeCluster(vectors: readonly Float32Array[], opts: AgglomerativeOptions): Int32Array {
  const n = vectors.length;
  const labels = new Int32Array(n);
  if (n === 0) return labels;
  const dim = vectors[0].length;
  const units = vectors.map((v) => {
    const norm = Math.hypot(...v) || 1;
    return Float32Array.from(v, (x) => x / norm);
  });
  const dist = new Float32Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += units[a][d] * units[b][d];
      dist[a * n + b] = dist[b * n + a] = 1 - dot;
    }
  }
  const weights = Float64Array.from({ length: n }, (_, i) => opts.weights?.[i] ?? 1);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const size = new Int32Array(n).fill(1);
  const alive = new Set<number>(Array.from({ length: n }, (_, i) => i));
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const nearest = new Int32Array(n).fill(-1);
  const nearestDist = new Float64Array(n).fill(Infinity);
  const refresh = (a: number): void => {
    nearest[a] = -1;
    nearestDist[a] = Infinity;
    for (const b of alive) {
      if (b !== a && dist[a * n + b] < nearestDist[a]) {
        nearestDist[a] = dist[a * n + b];
        nearest[a] = b;
      }
    }
  };
  const merge = (a: number, b: number): void => {
    alive.delete(b);
    parent[b] = a;
    for (const c of alive) {
      if (c === a) continue;
      const d = (size[a] * dist[a * n + c] + size[b] * dist[b * n + c]) / (size[a] + size[b]);
      dist[a * n + c] = dist[c * n + a] = d;
    }
    size[a] += size[b];
    weights[a] += weights[b];
    refresh(a);
    for (const c of alive) {
      if (c === a) continue;
      if (nearest[c] === a || nearest[c] === b) refresh(c);
      else if (dist[c * n + a] < nearestDist[c]) {
        nearestDist[c] = dist[c * n + a];
        nearest[c] = a;
      }
    }
  };
  if (opts.initialLabels) {
    const first = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const label = opts.initialLabels[i];
      const a = first.get(label);
      if (a === undefined) first.set(label, i);
      else merge(a, i);
    }
  }
  for (const a of alive) refresh(a);
  const closestPair = (): [number, number, number] => {
    let best: [number, number, number] = [-1, -1, Infinity];
    for (const c of alive) if (nearest[c] >= 0 && nearestDist[c] < best[2]) best = [c, nearest[c], nearestDist[c]];
    return best;
  };

  const exact = opts.numClusters != null && opts.numClusters > 0 ? Math.min(opts.numClusters, n) : null;
  const minK = Math.max(1, exact ?? opts.minClusters ?? 1);
  const maxK = Math.max(minK, exact ?? opts.maxClusters ?? n);
  while (alive.size > minK) {
    const [a, b, d] = closestPair();
    if (a < 0 || (alive.size <= maxK && d > opts.threshold)) break;
    merge(a, b);
  }
  const minWeight = (opts.minClusterShare ?? 0) * totalWeight;
  while (alive.size > minK) {
    let lightest = -1;
    for (const c of alive) if (weights[c] < minWeight && (lightest < 0 || weights[c] < weights[lightest])) lightest = c;
    if (lightest < 0) break;
    const heavy = [...alive].filter((c) => c !== lightest && weights[c] >= minWeight);
    const candidates = heavy.length > 0 ? heavy : [...alive].filter((c) => c !== lightest);
    let target = candidates[0];
    for (const c of candidates) if (dist[lightest * n + c] < dist[lightest * n + target]) target = c;
    merge(target, lightest);
  }

  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i];
    return i;
  };
  const numbering = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const r = root(i);
    if (!numbering.has(r)) numbering.set(r, numbering.size);
    labels[i] = numbering.get(r)!;
  }
  return labels;
}
