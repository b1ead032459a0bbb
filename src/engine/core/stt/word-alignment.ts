/**
 * Word timing from decoder cross-attention, the method of openai-whisper's `find_alignment`: the attention of the
 * alignment heads is normalised per frame, smoothed with a median filter, averaged over heads, and a monotonic
 * path through it (DTW) says which audio frame each token is spoken at.
 */

/** Encoder frames per second (1500 frames per 30 s). */
export const FRAMES_PER_SECOND = 50;
const MEDIAN_FILTER_WIDTH = 7;

/** Median filter along the last axis of a [rows, width] matrix, edges reflected; in place. */
export function medianFilterRows(matrix: Float32Array, rows: number, width: number, filterWidth = MEDIAN_FILTER_WIDTH): void {
  const half = filterWidth >> 1;
  if (width <= half) return;
  const window = new Float32Array(filterWidth);
  const line = new Float32Array(width);
  for (let r = 0; r < rows; r++) {
    line.set(matrix.subarray(r * width, (r + 1) * width));
    for (let c = 0; c < width; c++) {
      for (let k = -half; k <= half; k++) {
        let j = c + k;
        if (j < 0) j = -j;
        else if (j >= width) j = 2 * width - 2 - j;
        window[k + half] = line[j];
      }
      window.sort();
      matrix[r * width + c] = window[half];
    }
  }
}

/** Monotonic alignment minimising the summed cost of a [n, m] matrix; returns the path as index pairs. */
export function dtw(cost: Float32Array, n: number, m: number): { rows: Int32Array; cols: Int32Array } {
  const acc = new Float64Array((n + 1) * (m + 1)).fill(Infinity);
  const trace = new Uint8Array((n + 1) * (m + 1));
  acc[0] = 0;
  const w = m + 1;
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      const diag = acc[(i - 1) * w + j - 1];
      const up = acc[(i - 1) * w + j];
      const left = acc[i * w + j - 1];
      let best = diag;
      let dir = 0;
      if (up < best) {
        best = up;
        dir = 1;
      }
      if (left < best) {
        best = left;
        dir = 2;
      }
      acc[i * w + j] = cost[(i - 1) * m + j - 1] + best;
      trace[i * w + j] = dir;
    }
  }
  const rows: number[] = [];
  const cols: number[] = [];
  let i = n;
  let j = m;
  while (i > 0 && j > 0) {
    rows.push(i - 1);
    cols.push(j - 1);
    const dir = trace[i * w + j];
    if (dir === 0) {
      i--;
      j--;
    } else if (dir === 1) i--;
    else j--;
  }
  return { rows: Int32Array.from(rows.reverse()), cols: Int32Array.from(cols.reverse()) };
}

/**
 * Start time (s, relative to the window) of each token row: `attention` is [heads, tokens, 1500] for one window,
 * of which the first `frames` frames hold audio. Returns, per token row, the time the alignment path enters it.
 * Row k attends to where the token it predicts (token k+1 of the sequence) is spoken.
 */
export function tokenBoundaries(attention: Float32Array, heads: number, tokens: number, frames: number): Float64Array {
  const total = attention.length / heads / tokens;
  const matrix = new Float32Array(tokens * frames);
  const weights = new Float32Array(tokens * frames);
  for (let h = 0; h < heads; h++) {
    // Re-normalise each token's attention over the frames that hold audio.
    for (let t = 0; t < tokens; t++) {
      const from = (h * tokens + t) * total;
      let sum = 0;
      for (let f = 0; f < frames; f++) sum += attention[from + f];
      const scale = sum > 0 ? 1 / sum : 0;
      for (let f = 0; f < frames; f++) weights[t * frames + f] = attention[from + f] * scale;
    }
    // Standardise each frame across tokens, so frames that attract every token do not dominate.
    for (let f = 0; f < frames; f++) {
      let mean = 0;
      for (let t = 0; t < tokens; t++) mean += weights[t * frames + f];
      mean /= tokens;
      let variance = 0;
      for (let t = 0; t < tokens; t++) variance += (weights[t * frames + f] - mean) ** 2;
      const std = Math.sqrt(variance / tokens) || 1;
      for (let t = 0; t < tokens; t++) weights[t * frames + f] = (weights[t * frames + f] - mean) / std;
    }
    medianFilterRows(weights, tokens, frames);
    for (let i = 0; i < matrix.length; i++) matrix[i] += weights[i] / heads;
  }
  for (let i = 0; i < matrix.length; i++) matrix[i] = -matrix[i];
  const path = dtw(matrix, tokens, frames);
  // A token starts where the path first enters its row.
  const starts = new Float64Array(tokens);
  let seen = -1;
  for (let k = 0; k < path.rows.length; k++) {
    if (path.rows[k] !== seen) {
      seen = path.rows[k];
      starts[seen] = path.cols[k] / FRAMES_PER_SECOND;
    }
  }
  return starts;
}

export interface TimedWord {
  word: string;
  start: number;
  end: number;
  prob: number;
}

const PREPEND_PUNCTUATION = `"'“¿([{-`;
const APPEND_PUNCTUATION = `"'.。,，!！?？:：”)]}、`;

/** Attaches leading punctuation to the following word and trailing punctuation to the preceding one. */
export function mergePunctuation(words: TimedWord[]): TimedWord[] {
  const out: TimedWord[] = [];
  let pending: TimedWord | null = null;
  for (const w of words) {
    const bare = w.word.trim();
    if (pending) {
      out.push({ ...w, word: pending.word + w.word.replace(/^\s+/, ''), start: pending.start });
      pending = null;
      continue;
    }
    if (bare && [...bare].every((c) => APPEND_PUNCTUATION.includes(c)) && out.length) {
      const prev = out[out.length - 1];
      out[out.length - 1] = { ...prev, word: prev.word + bare, end: Math.max(prev.end, w.end) };
    } else if (bare && [...bare].every((c) => PREPEND_PUNCTUATION.includes(c))) {
      pending = w;
    } else {
      out.push({ ...w });
    }
  }
  if (pending) out.push(pending);
  return out;
}
