export interface AgglomerativeOptions {
  /** Merging stops when the two closest clusters are farther apart than this cosine distance (0…2). */
  threshold: number;
  /** Exact number of clusters (when there are at least that many items); overrides threshold, min and max. */
  numClusters?: number;
  minClusters?: number;
  maxClusters?: number;
  /** Weight of each item (e.g. seconds of speech); centroids are weighted by it. Default 1 each. */
  weights?: ArrayLike<number>;
  /**
   * Clusters lighter than this share of the total weight are merged into their nearest neighbour once the
   * threshold stops merging, as long as the count stays within min/num: guards against over-counting speakers.
   */
  minClusterShare?: number;
  /** Pairs of items that should not end up together; merging them costs `cannotLinkPenalty` extra distance. */
  cannotLink?: ReadonlyArray<readonly [number, number]>;
  cannotLinkPenalty?: number;
}

/**
 * Agglomerative clustering with centroid linkage on cosine distance: repeatedly merge the two clusters whose
 * weighted mean directions are closest. Nearest neighbours are cached per cluster, so a run costs about n²·dim
 * rather than n³·dim. Returns a label 0…k−1 per item, numbered by first item.
 */
export function agglomerativeCluster(vectors: readonly Float32Array[], opts: AgglomerativeOptions): Int32Array {
  const n = vectors.length;
  const labels = new Int32Array(n);
  if (n === 0) return labels;
  const dim = vectors[0].length;
  const weights = Float64Array.from({ length: n }, (_, i) => opts.weights?.[i] ?? 1);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  // Each cluster's sum of weighted unit vectors; its direction is the centroid's.
  const sums = vectors.map((v, i) => {
    const s = new Float64Array(dim);
    const norm = Math.hypot(...v) || 1;
    for (let d = 0; d < dim; d++) s[d] = (v[d] / norm) * weights[i];
    return s;
  });
  const norms = sums.map((s) => Math.hypot(...s) || 1);
  const alive = new Set<number>(Array.from({ length: n }, (_, i) => i));
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const conflicts = vectors.map(() => new Set<number>());
  for (const [a, b] of opts.cannotLink ?? []) {
    if (a !== b) {
      conflicts[a].add(b);
      conflicts[b].add(a);
    }
  }
  const penalty = opts.cannotLinkPenalty ?? 1;
  const distance = (a: number, b: number): number => {
    let dot = 0;
    const sa = sums[a];
    const sb = sums[b];
    for (let d = 0; d < dim; d++) dot += sa[d] * sb[d];
    return 1 - dot / (norms[a] * norms[b]) + (conflicts[a].has(b) ? penalty : 0);
  };
  const nearest = new Int32Array(n).fill(-1);
  const nearestDist = new Float64Array(n).fill(Infinity);
  const refresh = (a: number): void => {
    nearest[a] = -1;
    nearestDist[a] = Infinity;
    for (const b of alive) {
      if (b === a) continue;
      const d = distance(a, b);
      if (d < nearestDist[a]) {
        nearestDist[a] = d;
        nearest[a] = b;
      }
    }
  };
  for (const a of alive) refresh(a);

  const merge = (a: number, b: number): void => {
    for (let d = 0; d < dim; d++) sums[a][d] += sums[b][d];
    norms[a] = Math.hypot(...sums[a]) || 1;
    weights[a] += weights[b];
    alive.delete(b);
    parent[b] = a;
    for (const c of conflicts[b]) {
      conflicts[c].delete(b);
      if (c !== a) {
        conflicts[c].add(a);
        conflicts[a].add(c);
      }
    }
    conflicts[a].delete(b);
    refresh(a);
    for (const c of alive) {
      if (c === a) continue;
      if (nearest[c] === a || nearest[c] === b) refresh(c);
      else {
        const d = distance(c, a);
        if (d < nearestDist[c]) {
          nearestDist[c] = d;
          nearest[c] = a;
        }
      }
    }
  };
  const closestPair = (among: (c: number) => boolean = () => true): [number, number, number] => {
    let best: [number, number, number] = [-1, -1, Infinity];
    for (const c of alive) if (among(c) && nearest[c] >= 0 && nearestDist[c] < best[2]) best = [c, nearest[c], nearestDist[c]];
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
    for (const c of candidates) if (distance(lightest, c) < distance(lightest, target)) target = c;
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
