import type { EmotionItem, EmotionLevel, EmotionResult, EmotionScores, SpeakerTurn, TranscriptSegment } from '../../../../libs/contracts/process';
import { type SpeechProbabilityModel, speechRegions, type SpeechRegion } from '../audio/vad';
import { decideLabel } from './decision';
import type { EmotionModel } from './emotion-model';
import { filePieces, groupRegions, sentenceSpans, type Span, speechWithin, splitEvenly } from './pieces';

const SAMPLE_RATE = 16000;
/** Segment level without a transcript: speech in items of 2–8 s. */
const SEGMENT_MIN_SAMPLES = 2 * SAMPLE_RATE;
const SEGMENT_MAX_SAMPLES = 8 * SAMPLE_RATE;
/** Word level: each word takes the scores of the window (at most 4 s, at least 2 s where the segment allows) it lies in. */
const WORD_WINDOW_MAX_SAMPLES = 4 * SAMPLE_RATE;
/** A span with less detected speech than this is flagged low-confidence. */
const MIN_SPEECH_SAMPLES = 0.3 * SAMPLE_RATE;

interface PlannedItem {
  span: Span;
  /** Pieces whose duration-weighted mean scores are the item's. */
  pieces: Span[];
  /** Speaker level: whose turns the pieces are (the span also covers others' speech between them). */
  speaker?: string;
}

/** What the levels other than file are planned from: the transcript's segments, the diarized turns. */
export interface EmotionTimeline {
  segments?: TranscriptSegment[];
  turns?: SpeakerTurn[];
}

const seconds = (samples: number): number => Math.round((samples / SAMPLE_RATE) * 1000) / 1000;

/** Runs an emotion model over decoded audio at one of the levels. */
export class EmotionAnalyzer {
  /** `vad`: the speech detector (may still be loading). */
  constructor(private readonly vad: Promise<SpeechProbabilityModel>) {}

  /**
   * `timeline.segments`: the transcript's, when transcription ran (segment level follows them, word and sentence
   * levels need their words); `timeline.turns`: the diarization's, which the speaker level needs.
   */
  async analyze(model: EmotionModel, samples: Float32Array, level: EmotionLevel, timeline: EmotionTimeline = {}): Promise<EmotionResult> {
    const speech = speechRegions(await (await this.vad).speechProbabilities(samples), samples.length);
    const window = model.windowSamples;
    const file: PlannedItem = {
      span: speech.length > 0 ? { start: speech[0].start, end: speech[speech.length - 1].end } : { start: 0, end: samples.length },
      pieces: filePieces(speech, samples.length, window),
    };
    const items = level === 'file' ? [file] : planItems(level, speech, samples.length, window, timeline);
    // Each distinct piece is scored once (word items share their window's pieces).
    const unique = new Map<string, Span>();
    for (const item of items) for (const p of item.pieces) unique.set(`${p.start}:${p.end}`, p);
    const keys = [...unique.keys()];
    const probs = keys.length > 0 ? await model.classify(keys.map((k) => samples.subarray(unique.get(k)!.start, unique.get(k)!.end))) : new Float32Array(0);
    const row = new Map(keys.map((k, i) => [k, probs.subarray(i * model.labels.length, (i + 1) * model.labels.length)]));
    const scoresOf = (pieces: Span[]): Float64Array => {
      const mean = new Float64Array(model.labels.length);
      let total = 0;
      for (const p of pieces) {
        const w = p.end - p.start;
        const r = row.get(`${p.start}:${p.end}`)!;
        for (let k = 0; k < mean.length; k++) mean[k] += w * r[k];
        total += w;
      }
      for (let k = 0; k < mean.length; k++) mean[k] /= total || 1;
      return mean;
    };
    const lowConfidence = (span: Span): boolean => speechWithin(span, speech) < MIN_SPEECH_SAMPLES;
    const itemSpeech = (item: PlannedItem): number =>
      item.speaker === undefined ? speechWithin(item.span, speech) : item.pieces.reduce((sum, p) => sum + speechWithin(p, speech), 0);

    const emotionItems: EmotionItem[] = items.map((item) => ({
      start: seconds(item.span.start),
      end: seconds(item.span.end),
      ...(item.speaker === undefined ? {} : { speaker: item.speaker }),
      ...toScores(model, item.pieces.length > 0 ? scoresOf(item.pieces) : null, itemSpeech(item) < MIN_SPEECH_SAMPLES),
    }));
    // The file's distribution: its own pieces at file level; otherwise the items' pieces, so nothing is scored twice.
    const filePiecesUsed = level === 'file' ? file.pieces : [...unique.values()];
    const fileScores = toScores(model, filePiecesUsed.length > 0 ? scoresOf(filePiecesUsed) : null, lowConfidence(file.span));
    return { level, model: model.name, file: fileScores, items: emotionItems };
  }
}

function toScores(model: EmotionModel, probs: Float64Array | null, lowConfidence: boolean): EmotionScores {
  if (!probs) return { label: 'unknown', scores: {}, low_confidence: true };
  const label = decideLabel(model.labels, probs, model.neutralMargin);
  const scores: Record<string, number> = {};
  model.labels.forEach((l, k) => (scores[l] = Math.round(probs[k] * 10000) / 10000));
  return lowConfidence ? { label, scores, low_confidence: true } : { label, scores };
}

/** Items of the levels other than file, with their pieces. */
export function planItems(
  level: Exclude<EmotionLevel, 'file'>,
  speech: SpeechRegion[],
  totalSamples: number,
  windowSamples: number,
  { segments, turns }: EmotionTimeline = {},
): PlannedItem[] {
  const toSpan = (s: { start: number; end: number }): Span => ({
    start: Math.max(0, Math.min(totalSamples, Math.round(s.start * SAMPLE_RATE))),
    end: Math.max(0, Math.min(totalSamples, Math.round(s.end * SAMPLE_RATE))),
  });
  if (level === 'segment') {
    const spans = segments ? segments.map(toSpan) : groupRegions(speech, SEGMENT_MIN_SAMPLES, SEGMENT_MAX_SAMPLES);
    return spans.map((span) => ({ span, pieces: splitEvenly(span, windowSamples) }));
  }
  if (level === 'speaker') {
    if (!turns) throw new Error('speaker-level emotion needs the diarization');
    const bySpeaker = new Map<string, Span[]>();
    for (const turn of turns) bySpeaker.set(turn.speaker, [...(bySpeaker.get(turn.speaker) ?? []), toSpan(turn)]);
    return [...bySpeaker].map(([speaker, spans]) => ({
      speaker,
      span: { start: Math.min(...spans.map((s) => s.start)), end: Math.max(...spans.map((s) => s.end)) },
      pieces: spans.flatMap((s) => splitEvenly(s, windowSamples)),
    }));
  }
  if (!segments) throw new Error(`${level}-level emotion needs the transcript`);
  if (level === 'sentence') return sentenceSpans(segments).map((s) => ({ span: toSpan(s), pieces: splitEvenly(toSpan(s), windowSamples) }));
  const items: PlannedItem[] = [];
  for (const segment of segments) {
    const windows = splitEvenly(toSpan(segment), Math.min(WORD_WINDOW_MAX_SAMPLES, windowSamples));
    for (const word of segment.words ?? []) {
      const span = toSpan(word);
      const middle = (span.start + span.end) / 2;
      const window = windows.find((w) => middle < w.end) ?? windows[windows.length - 1];
      if (window) items.push({ span, pieces: [window] });
    }
  }
  return items;
}
