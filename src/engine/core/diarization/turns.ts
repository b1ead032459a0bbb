import type { SpeakerTurn } from '../../../../libs/contracts/process';

/** A run of active frames [startFrame, endFrame) of one cluster. */
export interface FrameTurn {
  cluster: number;
  startFrame: number;
  endFrame: number;
}

export interface TurnTiming {
  /** Time at which frame g begins to count. */
  frameStartS: (g: number) => number;
  durationS: number;
  minDurationOnS: number;
  minDurationOffS: number;
}

/**
 * Frame runs → speaker turns in seconds: gaps shorter than minDurationOff within one speaker are filled, turns
 * shorter than minDurationOn dropped, and speakers labelled SPEAKER_00… in order of first appearance (`labels`,
 * filled in, gives each cluster's label).
 */
export function speakerTurns(runs: FrameTurn[], timing: TurnTiming, labels = new Map<number, string>()): SpeakerTurn[] {
  const byCluster = new Map<number, Array<{ start: number; end: number }>>();
  for (const r of [...runs].sort((a, b) => a.startFrame - b.startFrame)) {
    const start = timing.frameStartS(r.startFrame);
    const end = Math.min(timing.frameStartS(r.endFrame), timing.durationS);
    if (end <= start) continue;
    const list = byCluster.get(r.cluster) ?? [];
    byCluster.set(r.cluster, list);
    const last = list[list.length - 1];
    if (last && start - last.end < timing.minDurationOffS) last.end = Math.max(last.end, end);
    else list.push({ start, end });
  }
  const kept: Array<{ cluster: number; start: number; end: number }> = [];
  for (const [cluster, list] of byCluster) {
    for (const t of list) if (t.end - t.start >= timing.minDurationOnS) kept.push({ cluster, ...t });
  }
  kept.sort((a, b) => a.start - b.start || a.cluster - b.cluster);
  const round = (s: number): number => Math.round(s * 1000) / 1000;
  return kept.map((t) => {
    if (!labels.has(t.cluster)) labels.set(t.cluster, speakerLabel(labels.size));
    return { start: round(t.start), end: round(t.end), speaker: labels.get(t.cluster)! };
  });
}

/** The label of the speaker heard `index`-th (from 0): SPEAKER_00, SPEAKER_01, … */
export function speakerLabel(index: number): string {
  return `SPEAKER_${String(index).padStart(2, '0')}`;
}
