import { diarizationErrorRate, parseRttm } from '../../libs/diarization/der';

const t = (start: number, end: number, speaker: string) => ({ start, end, speaker });

test('a perfect answer under other labels scores 0 and maps the labels', () => {
  const ref = [t(0, 5, 'alice'), t(5, 8, 'bob'), t(7, 10, 'alice')];
  const hyp = [t(0, 5, 'S1'), t(5, 8, 'S0'), t(7, 10, 'S1')];
  const s = diarizationErrorRate(ref, hyp);
  expect(s).toMatchObject({ der: 0, miss: 0, falseAlarm: 0, confusion: 0, mapping: { S1: 'alice', S0: 'bob' } });
  expect(s.total).toBeCloseTo(11);
});

test('miss, false alarm and confusion are counted per speaker and second', () => {
  const ref = [t(0, 10, 'a'), t(10, 20, 'b'), t(15, 20, 'a')]; // 25 s of reference speech, 5 s overlapped
  const hyp = [t(0, 10, 'x'), t(10, 14, 'x'), t(14, 20, 'y'), t(20, 22, 'y')];
  const s = diarizationErrorRate(ref, hyp);
  // x ↔ a (10 s + 0), y ↔ b (6 s). 10–14: b heard as x → 4 s confusion. 15–20: two speakers, one output → 5 s miss.
  // 20–22: nobody talks → 2 s false alarm.
  expect(s.mapping).toEqual({ x: 'a', y: 'b' });
  expect(s.miss).toBeCloseTo(5);
  expect(s.falseAlarm).toBeCloseTo(2);
  expect(s.confusion).toBeCloseTo(4);
  expect(s.der).toBeCloseTo(11 / 25);
});

test('uem limits the scored time; no reference and no output is 0, output over silence is 1', () => {
  expect(diarizationErrorRate([t(0, 10, 'a')], [t(0, 20, 'x')], { start: 0, end: 10 }).der).toBe(0);
  expect(diarizationErrorRate([], []).der).toBe(0);
  expect(diarizationErrorRate([], [t(0, 1, 'x')]).der).toBe(1);
  expect(diarizationErrorRate([t(0, 4, 'a')], []).der).toBe(1);
});

test('RTTM SPEAKER lines are parsed, other lines skipped', () => {
  const text =
    'SPEAKER f 1 6.690 0.430 <NA> <NA> speaker90 <NA> <NA>\nSPKR-INFO f 1 <NA> <NA> <NA> unknown speaker90 <NA>\n\nSPEAKER f 1 7.5 1 <NA> <NA> b <NA> <NA>\n';
  expect(parseRttm(text)).toEqual([
    { start: 6.69, end: expect.closeTo(7.12, 6), speaker: 'speaker90' },
    { start: 7.5, end: 8.5, speaker: 'b' },
  ]);
});
