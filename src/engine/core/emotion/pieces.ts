/**
 * Where emotion is measured: pure planning of the audio spans (in samples) that the model scores. Each level turns
 * speech regions or transcript timing into items, and each item into pieces no longer than the model's window.
 */
import type { TranscriptSegment } from '../../../../libs/contracts/process';
import type { SpeechRegion } from '../audio/vad';

export type Span = SpeechRegion;

/** `span` cut into the fewest equal pieces of at most `maxLength` samples. */
export function splitEvenly(span: Span, maxLength: number): Span[] {
  const length = span.end - span.start;
  if (length <= 0) return [];
  const count = Math.ceil(length / maxLength);
  const pieces: Span[] = [];
  for (let i = 0; i < count; i++) {
    pieces.push({ start: span.start + Math.round((length * i) / count), end: span.start + Math.round((length * (i + 1)) / count) });
  }
  return pieces;
}

/**
 * Speech regions (sorted) grouped into spans: consecutive regions join while the group is shorter than `minLength`
 * and the joined span stays within `maxLength`; groups longer than `maxLength` are then cut evenly.
 */
export function groupRegions(regions: SpeechRegion[], minLength: number, maxLength: number): Span[] {
  const groups: Span[] = [];
  for (const r of regions) {
    const last = groups[groups.length - 1];
    if (last && last.end - last.start < minLength && r.end - last.start <= maxLength) last.end = r.end;
    else groups.push({ start: r.start, end: r.end });
  }
  return groups.flatMap((g) => splitEvenly(g, maxLength));
}

/** Samples of `span` covered by the regions. */
export function speechWithin(span: Span, regions: SpeechRegion[]): number {
  let total = 0;
  for (const r of regions) total += Math.max(0, Math.min(span.end, r.end) - Math.max(span.start, r.start));
  return total;
}

/**
 * The pieces a whole file is scored on: its speech, grouped into pieces of at most one window; the whole audio (in
 * windows) when there is no speech at all.
 */
export function filePieces(regions: SpeechRegion[], totalSamples: number, windowSamples: number): Span[] {
  if (regions.length === 0) return splitEvenly({ start: 0, end: totalSamples }, windowSamples);
  return groupRegions(regions, windowSamples, windowSamples);
}

/** A word that ends a sentence: its text ends with sentence punctuation, perhaps followed by closing quotes. */
const SENTENCE_END = /[.!?…。！？]["'”’»)\]]*$/;

/**
 * The transcript's sentences, in seconds: runs of words (across segments) up to a word that ends with sentence
 * punctuation. A segment without word timings is one sentence of its own.
 */
export function sentenceSpans(segments: TranscriptSegment[]): Array<{ start: number; end: number }> {
  const sentences: Array<{ start: number; end: number }> = [];
  let open: { start: number; end: number } | null = null;
  for (const segment of segments) {
    if (!segment.words?.length) {
      if (open) sentences.push(open);
      open = null;
      sentences.push({ start: segment.start, end: segment.end });
      continue;
    }
    for (const word of segment.words) {
      open = open ? { start: open.start, end: word.end } : { start: word.start, end: word.end };
      if (SENTENCE_END.test(word.word.trim())) {
        sentences.push(open);
        open = null;
      }
    }
  }
  if (open) sentences.push(open);
  return sentences.filter((s) => s.end > s.start);
}
