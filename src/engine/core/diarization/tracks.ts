/**
 * Local speakers (window, k) of consecutive overlapping windows that are active in the same shared frames are the
 * same voice: linking them gives tracks. A track can still carry two voices in turn (the model sometimes gives
 * similar voices one local speaker), so the diarizer clusters pauseless pieces of tracks, not whole tracks.
 */
export interface Tracks {
  /** Track of node w·L + k, or −1 for a local speaker that never speaks in its window. */
  ofNode: Int32Array;
  count: number;
}

export function linkLocalSpeakers(activity: Uint8Array, offsets: number[], F: number, L: number, minIou: number): Tracks {
  const W = offsets.length;
  const parent = Int32Array.from({ length: W * L }, (_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  const speaks = new Uint8Array(W * L);
  for (let w = 0; w < W; w++) {
    for (let j = 0; j < F; j++) {
      const bits = activity[w * F + j];
      for (let k = 0; k < L; k++) if (bits & (1 << k)) speaks[w * L + k] = 1;
    }
  }
  const inter = new Float64Array(L * L);
  const countA = new Float64Array(L);
  const countB = new Float64Array(L);
  for (let w = 0; w + 1 < W; w++) {
    const shift = offsets[w + 1] - offsets[w];
    if (shift >= F) continue;
    inter.fill(0);
    countA.fill(0);
    countB.fill(0);
    for (let j = shift; j < F; j++) {
      const a = activity[w * F + j];
      const b = activity[(w + 1) * F + j - shift];
      for (let p = 0; p < L; p++) {
        if (a & (1 << p)) countA[p]++;
        if (b & (1 << p)) countB[p]++;
        if (!(a & (1 << p))) continue;
        for (let q = 0; q < L; q++) if (b & (1 << q)) inter[p * L + q]++;
      }
    }
    const pairs: Array<[number, number, number]> = [];
    for (let p = 0; p < L; p++) {
      for (let q = 0; q < L; q++) {
        const union = countA[p] + countB[q] - inter[p * L + q];
        if (union > 0) pairs.push([p, q, inter[p * L + q] / union]);
      }
    }
    pairs.sort((x, y) => y[2] - x[2]);
    let usedA = 0;
    let usedB = 0;
    for (const [p, q, iou] of pairs) {
      if (iou < minIou) break;
      if (usedA & (1 << p) || usedB & (1 << q)) continue;
      usedA |= 1 << p;
      usedB |= 1 << q;
      parent[root(w * L + p)] = root((w + 1) * L + q);
    }
  }
  const ofNode = new Int32Array(W * L).fill(-1);
  const ids = new Map<number, number>();
  for (let i = 0; i < W * L; i++) {
    if (!speaks[i]) continue;
    const r = root(i);
    if (!ids.has(r)) ids.set(r, ids.size);
    ofNode[i] = ids.get(r)!;
  }
  return { ofNode, count: ids.size };
}
