import { splitAtTimestamps } from '../../src/engine/core/stt/segments';

const TS = 50364; // <|0.00|> of the multilingual models; any value works, it only separates text from timestamps
const at = (s: number) => TS + Math.round(s / 0.02);

describe('splitAtTimestamps', () => {
  test('pairs of timestamps delimit pieces; consecutive pieces share no tokens', () => {
    const pieces = splitAtTimestamps([at(0), 1, 2, at(2.5), at(2.5), 3, at(4), at(4.2), 4, 5, at(7)], TS, 10);
    expect(pieces).toEqual([
      { start: 0, end: 2.5, tokens: [1, 2], firstText: 0 },
      { start: 2.5, end: 4, tokens: [3], firstText: 2 },
      { start: 4.2, end: 7, tokens: [4, 5], firstText: 3 },
    ]);
  });

  test('a single timestamp between texts ends one piece and starts the next', () => {
    expect(splitAtTimestamps([at(0), 1, at(1), 2, at(3)], TS, 5)).toEqual([
      { start: 0, end: 1, tokens: [1], firstText: 0 },
      { start: 1, end: 3, tokens: [2], firstText: 1 },
    ]);
  });

  test('unterminated text runs to the end of the window; text without timestamps spans the window', () => {
    expect(splitAtTimestamps([at(1), 7, 8], TS, 6.5)).toEqual([{ start: 1, end: 6.5, tokens: [7, 8], firstText: 0 }]);
    expect(splitAtTimestamps([7, 8], TS, 3)).toEqual([{ start: 0, end: 3, tokens: [7, 8], firstText: 0 }]);
  });

  test('timestamps past the audio of the window are clamped to it; empty pieces are dropped', () => {
    expect(splitAtTimestamps([at(0), 1, at(29)], TS, 12)).toEqual([{ start: 0, end: 12, tokens: [1], firstText: 0 }]);
    expect(splitAtTimestamps([at(0), at(1), at(2)], TS, 5)).toEqual([]);
    expect(splitAtTimestamps([], TS, 5)).toEqual([]);
  });
});
