import { bestFirstPairs } from '../../libs/math/best-first-pairs';

test('pairs the best-scoring pair first and never uses a side twice', () => {
  const pairs = [
    { a: 'x', b: 1, score: 0.5 },
    { a: 'x', b: 2, score: 0.9 },
    { a: 'y', b: 2, score: 0.8 },
    { a: 'y', b: 1, score: 0.4 },
    { a: 'z', b: 1, score: 0.3 },
  ];
  // x takes 2 (0.9); y's best left is 1 (0.4); z has nothing left.
  expect(
    bestFirstPairs(
      pairs,
      (p) => p.a,
      (p) => p.b,
    ),
  ).toEqual([pairs[1], pairs[3]]);
  expect(pairs.map((p) => p.score)).toEqual([0.5, 0.9, 0.8, 0.4, 0.3]); // the input keeps its order
});
