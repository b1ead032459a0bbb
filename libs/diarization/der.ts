import { munkres } from 'munkres';

export interface Turn {
  start: number;
  end: number;
  speaker: string;
}

export interface DerScore {
  /** (miss + false alarm + confusion) / total reference speech; 0 when there is no reference speech and no output. */
  der: number;
  /** Seconds of reference speech (overlapped speech counts once per speaker). */
  total: number;
  miss: number;
  falseAlarm: number;
  confusion: number;
  /** Hypothesis speaker → reference speaker, the mapping that maximises matched time. */
  mapping: Record<string, string>;
}

/**
 * Diarization error rate as NIST md-eval and pyannote.metrics compute it with no collar and overlap scored: time is
 * cut at every turn boundary; in each piece with R reference and H hypothesis speakers, miss = max(0, R−H),
 * false alarm = max(0, H−R), confusion = min(R, H) − (speakers matched under the optimal one-to-one mapping).
 * `uem` limits scoring to [start, end).
 */
export function diarizationErrorRate(reference: Turn[], hypothesis: Turn[], uem?: { start: number; end: number }): DerScore {
  const clip = (turns: Turn[]): Turn[] =>
    turns.map((t) => (uem ? { ...t, start: Math.max(t.start, uem.start), end: Math.min(t.end, uem.end) } : t)).filter((t) => t.end > t.start);
  const ref = clip(reference);
  const hyp = clip(hypothesis);
  const refIds = [...new Set(ref.map((t) => t.speaker))];
  const hypIds = [...new Set(hyp.map((t) => t.speaker))];
  const bounds = [...new Set([...ref, ...hyp].flatMap((t) => [t.start, t.end]))].sort((a, b) => a - b);
  const overlapTime = refIds.map(() => new Float64Array(hypIds.length));
  let total = 0;
  let miss = 0;
  let falseAlarm = 0;
  let paired = 0;
  for (let i = 0; i + 1 < bounds.length; i++) {
    const a = bounds[i];
    const b = bounds[i + 1];
    const d = b - a;
    const mid = (a + b) / 2;
    const r = activeSpeakers(ref, refIds, mid);
    const h = activeSpeakers(hyp, hypIds, mid);
    total += d * r.length;
    miss += d * Math.max(0, r.length - h.length);
    falseAlarm += d * Math.max(0, h.length - r.length);
    paired += d * Math.min(r.length, h.length);
    for (const ri of r) for (const hi of h) overlapTime[ri][hi] += d;
  }
  const mapping: Record<string, string> = {};
  let matched = 0;
  if (refIds.length > 0 && hypIds.length > 0) {
    // Minimum-cost assignment on negated times = the mapping with the most matched time.
    for (const [r, h] of munkres(overlapTime.map((row) => Array.from(row, (t) => -t)))) {
      if (overlapTime[r][h] > 0) {
        mapping[hypIds[h]] = refIds[r];
        matched += overlapTime[r][h];
      }
    }
  }
  const confusion = paired - matched;
  const errors = miss + falseAlarm + confusion;
  return { der: total > 0 ? errors / total : errors > 0 ? 1 : 0, total, miss, falseAlarm, confusion, mapping };
}

function activeSpeakers(turns: Turn[], ids: string[], t: number): number[] {
  const active = new Set<number>();
  for (const turn of turns) if (turn.start <= t && t < turn.end) active.add(ids.indexOf(turn.speaker));
  return [...active];
}

/** The SPEAKER lines of an RTTM file (other line types are skipped). */
export function parseRttm(text: string): Turn[] {
  const turns: Turn[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'SPEAKER' || f.length < 8) continue;
    const start = Number(f[3]);
    const duration = Number(f[4]);
    if (!Number.isFinite(start) || !Number.isFinite(duration)) throw new Error(`bad RTTM line: ${line}`);
    turns.push({ start, end: start + duration, speaker: f[7] });
  }
  return turns;
}
