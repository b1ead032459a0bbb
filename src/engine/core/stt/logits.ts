/** Small numeric helpers over one row of logits. Rows are views into the batch buffer: no copies. */

export function logSumExp(row: Float32Array, from = 0, to = row.length): number {
  let max = -Infinity;
  for (let i = from; i < to; i++) if (row[i] > max) max = row[i];
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = from; i < to; i++) sum += Math.exp(row[i] - max);
  return max + Math.log(sum);
}

export function argMax(row: Float32Array, from = 0, to = row.length): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Indices of the k largest values, best first (k is small: beam size + 1). */
export function topK(row: Float32Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (v === -Infinity) continue;
    if (idx.length === k && v <= row[idx[k - 1]]) continue;
    let pos = idx.length < k ? idx.length : k - 1;
    while (pos > 0 && row[idx[pos - 1]] < v) pos--;
    idx.splice(pos, 0, i);
    if (idx.length > k) idx.pop();
  }
  return idx;
}

/** Draws an index from softmax(row / temperature). */
export function sampleIndex(row: Float32Array, temperature: number, random: () => number): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp((row[i] - max) / temperature);
  let target = random() * sum;
  for (let i = 0; i < row.length; i++) {
    target -= Math.exp((row[i] - max) / temperature);
    if (target <= 0) return i;
  }
  return argMax(row);
}
