import { dtw, medianFilterRows, mergePunctuation, tokenBoundaries } from '../../src/engine/core/stt/word-alignment';

function naiveMedian(values: number[], width: number): number[] {
  const half = width >> 1;
  return values.map((_, c) => {
    const window: number[] = [];
    for (let k = -half; k <= half; k++) {
      let j = c + k;
      if (j < 0) j = -j;
      else if (j >= values.length) j = 2 * values.length - 2 - j;
      window.push(values[j]);
    }
    return window.sort((a, b) => a - b)[half];
  });
}

describe('word alignment', () => {
  test('median filter equals a direct computation with reflected edges', () => {
    const rows = 3;
    const width = 20;
    const data = Float32Array.from({ length: rows * width }, (_, i) => Math.fround(Math.sin(i * 1.7) * 10));
    const expected = [0, 1, 2].flatMap((r) => naiveMedian(Array.from(data.subarray(r * width, (r + 1) * width)), 7));
    medianFilterRows(data, rows, width, 7);
    expect(Array.from(data)).toEqual(expected.map(Math.fround));
  });

  test('dtw follows the cheap path and is monotonic', () => {
    // Cheap cells: row 0 at cols 0-1, row 1 at cols 2-4, row 2 at col 5.
    const n = 3;
    const m = 6;
    const cost = new Float32Array(n * m).fill(1);
    for (const [r, c] of [
      [0, 0],
      [0, 1],
      [1, 2],
      [1, 3],
      [1, 4],
      [2, 5],
    ])
      cost[r * m + c] = 0;
    const path = dtw(cost, n, m);
    expect(Array.from(path.rows)).toEqual([0, 0, 1, 1, 1, 2]);
    expect(Array.from(path.cols)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test('token boundaries from attention concentrated on consecutive frame ranges', () => {
    // 4 tokens over 100 frames of a 1500-frame window; token t attends to frames [25t, 25t+25).
    const heads = 2;
    const tokens = 4;
    const total = 1500;
    const attention = new Float32Array(heads * tokens * total);
    for (let h = 0; h < heads; h++) {
      for (let t = 0; t < tokens; t++) {
        for (let f = 0; f < total; f++) attention[(h * tokens + t) * total + f] = f >= 25 * t && f < 25 * t + 25 ? 1 : 0.001;
      }
    }
    const starts = tokenBoundaries(attention, heads, tokens, 100);
    expect(Array.from(starts)).toEqual([0, 0.5, 1, 1.5]);
  });

  test('punctuation joins its neighbour word', () => {
    const w = (word: string, start: number, end: number) => ({ word, start, end, prob: 1 });
    expect(mergePunctuation([w('"', 0, 0.1), w('Hello', 0.1, 0.5), w(',', 0.5, 0.6), w('world', 0.6, 1), w('.', 1, 1.1)])).toEqual([
      w('"Hello,', 0, 0.6),
      w('world.', 0.6, 1.1),
    ]);
  });
});
