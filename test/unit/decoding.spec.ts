import { compactedSlots } from '../../src/engine/core/stt/decoding';

describe('compactedSlots', () => {
  test('greedy: live rows in front stay, the last live rows fill the dead ones', () => {
    // rows 1 and 3 finished out of 6
    expect(compactedSlots([true, false, true, false, true, true], 1)).toEqual([0, 4, 2, 5]);
  });

  test('beams move as whole groups', () => {
    // 3 groups of 2 beams; group 0 finished
    expect(compactedSlots([false, false, true, true, true, true], 2)).toEqual([4, 5, 2, 3]);
  });

  test('nothing to move when only the last rows finished; nothing left when all did', () => {
    expect(compactedSlots([true, true, false], 1)).toEqual([0, 1]);
    expect(compactedSlots([false, false], 1)).toEqual([]);
  });
});
