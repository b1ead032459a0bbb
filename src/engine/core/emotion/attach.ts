import type { EmotionItem, EmotionResult, MergedSegment } from '../../../../libs/contracts/process';

/**
 * The label whose scores, weighted by how long each item overlaps [start, end], add up highest; the file's label
 * when no item overlaps.
 */
export function emotionOver(start: number, end: number, emo: EmotionResult): string {
  const totals = new Map<string, number>();
  for (const item of emo.items) {
    const overlap = Math.min(end, item.end) - Math.max(start, item.start);
    if (overlap <= 0) continue;
    for (const [label, score] of Object.entries(item.scores)) totals.set(label, (totals.get(label) ?? 0) + overlap * score);
  }
  let best = emo.file.label;
  let bestTotal = -1;
  for (const [label, total] of totals) {
    if (total > bestTotal) {
      best = label;
      bestTotal = total;
    }
  }
  return best;
}

/** The word-level item of a word: same start and end (the emotion levels make one item per word). */
function wordItem(items: EmotionItem[], start: number, end: number): EmotionItem | undefined {
  return items.find((i) => i.start === start && i.end === end);
}

/**
 * Fills `emotion` on merged segments (and on their words at word level) from an emotion result. Pure: returns new
 * objects, the inputs stay as they were.
 */
export function attachEmotion(segments: MergedSegment[], emo: EmotionResult): MergedSegment[] {
  // At speaker level a segment takes its speaker's label (the speakers' items overlap in time).
  const ofSpeaker = (speaker: string | undefined): string | undefined =>
    emo.level === 'speaker' && speaker !== undefined ? emo.items.find((i) => i.speaker === speaker)?.label : undefined;
  return segments.map((s) => ({
    ...s,
    emotion: ofSpeaker(s.speaker) ?? emotionOver(s.start, s.end, emo),
    ...(s.words && emo.level === 'word'
      ? { words: s.words.map((w) => ({ ...w, emotion: wordItem(emo.items, w.start, w.end)?.label ?? emotionOver(w.start, w.end, emo) })) }
      : {}),
  }));
}
