import type { DiarizationResult, MergedSegment, MergedWord, SpeakerTurn, TranscriptionResult } from '../../../libs/contracts/process';

/** Time [start, end) shared by two intervals. */
function overlap(aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  return Math.max(0, Math.min(aEnd, bEnd) - Math.max(aStart, bStart));
}

/**
 * The speaker who talks most during [start, end); with no turn overlapping it (a word in a pause), the speaker of
 * the nearest turn. Undefined only when there are no turns at all.
 */
export function speakerAt(turns: readonly SpeakerTurn[], start: number, end: number): string | undefined {
  const byTime = new Map<string, number>();
  let nearest: { speaker: string; gap: number } | undefined;
  for (const t of turns) {
    const o = overlap(start, end, t.start, t.end);
    if (o > 0) byTime.set(t.speaker, (byTime.get(t.speaker) ?? 0) + o);
    const gap = Math.max(t.start - end, start - t.end, 0);
    if (!nearest || gap < nearest.gap) nearest = { speaker: t.speaker, gap };
  }
  let best: string | undefined;
  for (const [speaker, time] of byTime) if (best === undefined || time > byTime.get(best)!) best = speaker;
  return best ?? nearest?.speaker;
}

/**
 * The merged view of api.md: one entry per transcript segment, with the words it holds. With a diarization, each
 * word gets the speaker it overlaps most and a segment whose words change speaker is split at those words (a
 * segment without words gets the speaker it overlaps most). Other tasks fill their fields (emotion) afterwards.
 */
export function mergeSegments(tra: TranscriptionResult, dia?: DiarizationResult): MergedSegment[] {
  const turns = dia?.turns ?? [];
  const out: MergedSegment[] = [];
  for (const s of tra.segments) {
    if (!s.words || s.words.length === 0) {
      out.push({ start: s.start, end: s.end, text: s.text.trim(), ...(dia ? withSpeaker(speakerAt(turns, s.start, s.end)) : {}) });
      continue;
    }
    const words: MergedWord[] = s.words.map((w) => ({
      word: w.word,
      start: w.start,
      end: w.end,
      ...(dia ? withSpeaker(speakerAt(turns, w.start, w.end)) : {}),
    }));
    let run: MergedWord[] = [];
    const flush = (whole: boolean): void => {
      out.push({
        start: whole ? s.start : run[0].start,
        end: whole ? s.end : run[run.length - 1].end,
        text: whole ? s.text.trim() : run.map((w) => w.word).join(' '),
        ...withSpeaker(run[0].speaker),
        words: run,
      });
    };
    for (const w of words) {
      if (run.length > 0 && w.speaker !== run[0].speaker) {
        flush(false);
        run = [];
      }
      run.push(w);
    }
    const split = run.length !== words.length;
    flush(!split);
  }
  return out;
}

function withSpeaker(speaker: string | undefined): { speaker?: string } {
  return speaker === undefined ? {} : { speaker };
}
