/** The dashboard's pure maths: percentiles over raw durations, the sample ring, rates. Values computed by hand. */
import { percentile } from '../../libs/math/percentile';
import { cpuPercent, meanOf, perSecond } from '../../libs/math/rates';
import { RingBuffer } from '../../libs/math/ring-buffer';

describe('percentile (linear between the nearest ranks)', () => {
  const values = Float64Array.of(50, 15, 40, 20, 35); // sorted: 15 20 35 40 50

  test('exact ranks and interpolated ones', () => {
    expect(percentile(values, 0)).toBe(15);
    expect(percentile(values, 50)).toBe(35);
    expect(percentile(values, 100)).toBe(50);
    expect(percentile(values, 40)).toBeCloseTo(29, 12); // rank 1.6: 20 + 0.6 × 15
    expect(percentile(values, 95)).toBeCloseTo(48, 12); // rank 3.8: 40 + 0.8 × 10
  });

  test('an even count takes the midpoint for the median; the input is left unsorted', () => {
    expect(percentile(Float64Array.of(4, 1, 3, 2), 50)).toBe(2.5);
    expect([...values]).toEqual([50, 15, 40, 20, 35]);
  });

  test('one value is every percentile; no values give null', () => {
    expect(percentile(Float64Array.of(7), 95)).toBe(7);
    expect(percentile(new Float64Array(0), 50)).toBeNull();
  });
});

describe('RingBuffer', () => {
  test('keeps the last `capacity` items, oldest first', () => {
    const ring = new RingBuffer<number>(3);
    expect(ring.toArray()).toEqual([]);
    ring.push(1);
    ring.push(2);
    expect(ring.toArray()).toEqual([1, 2]);
    for (const n of [3, 4, 5]) ring.push(n);
    expect(ring.toArray()).toEqual([3, 4, 5]);
    ring.push(6);
    expect(ring.toArray()).toEqual([4, 5, 6]);
    expect(ring.size).toBe(3);
  });

  test('refuses a capacity that is not a positive integer', () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
    expect(() => new RingBuffer(2.5)).toThrow(RangeError);
  });
});

describe('rates', () => {
  test('per second over an interval in milliseconds', () => {
    expect(perSecond(30, 60_000)).toBe(0.5); // 30 s of audio in a minute: 0.5 audio minutes per minute
    expect(perSecond(12, 4000)).toBe(3);
    expect(perSecond(5, 0)).toBe(0);
  });

  test('CPU percent of one core from the growth of process.cpuUsage()', () => {
    expect(cpuPercent({ user: 1_500_000, system: 500_000 }, 1000)).toBe(200); // two cores busy for a second
    expect(cpuPercent({ user: 250_000, system: 0 }, 5000)).toBe(5);
    expect(cpuPercent({ user: 1, system: 1 }, 0)).toBe(0);
  });

  test('mean, null when nothing was counted', () => {
    expect(meanOf(1.5, 3)).toBe(0.5);
    expect(meanOf(0, 0)).toBeNull();
  });
});
