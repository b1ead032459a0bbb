import { agglomerativeCluster } from '../../libs/cluster/agglomerative';

/** Unit vectors around a few directions with a little noise (deterministic). */
function around(directions: number[][], perCluster: number, noise = 0.1): Float32Array[] {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  return directions.flatMap((d) => Array.from({ length: perCluster }, () => Float32Array.from(d, (x) => x + noise * rand())));
}

const THREE = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
];

test('well separated groups are found with a threshold, labelled by first item', () => {
  const labels = agglomerativeCluster(around(THREE, 5), { threshold: 0.3 });
  expect(Array.from(labels)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
});

test('numClusters, minClusters and maxClusters override the threshold', () => {
  const v = around(THREE, 5);
  expect(new Set(agglomerativeCluster(v, { threshold: 0.3, numClusters: 2 })).size).toBe(2);
  expect(new Set(agglomerativeCluster(v, { threshold: 0.3, maxClusters: 1 })).size).toBe(1);
  expect(new Set(agglomerativeCluster(v, { threshold: 2, minClusters: 3 })).size).toBe(3);
  expect(new Set(agglomerativeCluster(v, { threshold: 0.3, numClusters: 40 })).size).toBe(15);
});

test('a light cluster joins its nearest neighbour unless the count is fixed', () => {
  const v = [...around(THREE.slice(0, 2), 10), Float32Array.of(0.7, 0.1, 0.7, 0)];
  const weights = v.map(() => 1);
  expect(new Set(agglomerativeCluster(v, { threshold: 0.2, weights })).size).toBe(3);
  const guarded = agglomerativeCluster(v, { threshold: 0.2, weights, minClusterShare: 0.1 });
  expect(new Set(guarded).size).toBe(2);
  expect(guarded[20]).toBe(guarded[0]);
  expect(new Set(agglomerativeCluster(v, { threshold: 0.2, weights, minClusterShare: 0.1, minClusters: 3 })).size).toBe(3);
});

test('clustering can start from a partition: items of one initial label stay together', () => {
  const v = [Float32Array.of(1, 0), Float32Array.of(0.99, 0.1), Float32Array.of(0, 1), Float32Array.of(0.1, 0.99)];
  expect(Array.from(agglomerativeCluster(v, { threshold: 0.5 }))).toEqual([0, 0, 1, 1]);
  // 0 and 2 start as one cluster: its mean distance to 1 and to 3 is ~0.45 (average linkage), above 0.4.
  expect(Array.from(agglomerativeCluster(v, { threshold: 0.4, initialLabels: [7, 1, 7, 2] }))).toEqual([0, 1, 0, 2]);
  expect(new Set(agglomerativeCluster(v, { threshold: 0.6, initialLabels: [7, 1, 7, 2] })).size).toBe(1);
});

test('no items, one item', () => {
  expect(agglomerativeCluster([], { threshold: 0.5 })).toHaveLength(0);
  expect(Array.from(agglomerativeCluster([Float32Array.of(1, 2)], { threshold: 0.5, numClusters: 3 }))).toEqual([0]);
});
