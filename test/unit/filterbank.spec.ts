import { dctMatrix, frameCount, kaldiFbank, melBank, melScale, mfcc } from '../../libs/features/filterbank';

const tone = (hz: number, seconds: number, amp = 0.5) =>
  Float32Array.from({ length: Math.round(16000 * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / 16000));

test('HTK/Kaldi mel scale and frame count (snip_edges)', () => {
  expect(melScale(0)).toBe(0);
  expect(melScale(700)).toBeCloseTo(1127 * Math.LN2, 9);
  expect(frameCount(16000, 400, 160)).toBe(98);
  expect(frameCount(399, 400, 160)).toBe(0);
});

test('mel filters are triangles peaking at 1 on their centre mel, inside the band', () => {
  const bank = melBank(80, 512, 16000, 20, 8000);
  expect(bank.weights).toHaveLength(80);
  for (let m = 0; m < 80; m++) {
    const w = bank.weights[m];
    expect(Math.max(...w)).toBeGreaterThan(0.4);
    expect(Math.max(...w)).toBeLessThanOrEqual(1);
    expect((bank.first[m] * 16000) / 512).toBeGreaterThanOrEqual(20);
  }
});

test('Kaldi fbank: a 1 kHz tone lights the filter centred nearest 1 kHz; silence sits at the log floor', () => {
  const fb = kaldiFbank(tone(1000, 1), { numMelBins: 80, scale: 32768 });
  expect(fb.length).toBe(98 * 80);
  const frame = fb.subarray(40 * 80, 41 * 80);
  const peak = frame.indexOf(Math.max(...frame));
  const delta = (melScale(8000) - melScale(20)) / 81;
  const centres = Array.from({ length: 80 }, (_, m) => melScale(20) + (m + 1) * delta);
  const nearest = centres.reduce((best, c, m) => (Math.abs(c - melScale(1000)) < Math.abs(centres[best] - melScale(1000)) ? m : best), 0);
  expect(Math.abs(peak - nearest)).toBeLessThanOrEqual(1);
  // Power of a 0.5·32768 sine in a 512-point frame is ~1e14: log ≈ 30.
  expect(frame[peak]).toBeGreaterThan(25);
  expect(frame[peak]).toBeLessThan(35);
  const silent = kaldiFbank(new Float32Array(16000), { numMelBins: 80, scale: 32768 });
  expect(Math.max(...silent)).toBeCloseTo(Math.log(1.1920928955078125e-7), 5);
});

test('DCT-II rows are orthonormal', () => {
  const d = dctMatrix(40, 0, 40);
  for (const [a, b] of [
    [0, 0],
    [1, 1],
    [3, 7],
    [16, 16],
    [0, 5],
  ]) {
    let dot = 0;
    for (let m = 0; m < 40; m++) dot += d[a * 40 + m] * d[b * 40 + m];
    expect(dot).toBeCloseTo(a === b ? 1 : 0, 10);
  }
});

test('MFCC c1–c16: zero for a flat (silent) spectrum, distinct for different voices of tone', () => {
  const silent = mfcc(new Float32Array(8000));
  expect(silent.length).toBe(frameCount(8000, 400, 160) * 16);
  expect(Math.max(...silent.map(Math.abs))).toBeLessThan(1e-4);
  const low = mfcc(tone(200, 0.5));
  const high = mfcc(tone(3000, 0.5));
  expect(Math.abs(low[16 * 10] - high[16 * 10])).toBeGreaterThan(1);
});
