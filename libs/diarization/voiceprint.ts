import { type DiarizationResult, type SpeakerTurn, UNKNOWN_SPEAKER } from '../contracts/process';
import { bestFirstPairs } from '../math/best-first-pairs';

/** The weighted mean of unit-length copies of the vectors, itself scaled to unit length (zero vector when empty). */
export function meanVoice(embeddings: readonly Float32Array[], weights: readonly number[]): Float32Array {
  const mean = new Float32Array(embeddings[0]?.length ?? 0);
  embeddings.forEach((e, i) => {
    let norm = 0;
    for (let d = 0; d < e.length; d++) norm += e[d] * e[d];
    const scale = norm > 0 ? weights[i] / Math.sqrt(norm) : 0;
    for (let d = 0; d < e.length; d++) mean[d] += e[d] * scale;
  });
  return unit(mean);
}

export function unit(v: Float32Array): Float32Array {
  let norm = 0;
  for (let d = 0; d < v.length; d++) norm += v[d] * v[d];
  if (norm > 0) for (let d = 0; d < v.length; d++) v[d] /= Math.sqrt(norm);
  return v;
}

/** Cosine similarity of two vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let d = 0; d < a.length; d++) {
    dot += a[d] * b[d];
    na += a[d] * a[d];
    nb += b[d] * b[d];
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * Cosine between a diarized speaker's voice and a voiceprint at which the speaker takes the voiceprint's name.
 * Measured on DEV (bench/speaker-identification.ts: 16 RAVDESS training actors each enrolled from one 1.3–2 s
 * clip, 58 diarized speakers of 20 three-actor conversations): at 0.63 another actor's voiceprint reaches the
 * threshold for 1.6% of (speaker, voiceprint) pairs (the ≤ 2% false accepts aimed at; 0.62 gives 2.3%), and 83% of
 * speakers take their own name. Same mic, same sentences: real calls with longer enrolments separate better.
 */
export const DEFAULT_MATCH_THRESHOLD = 0.63;

/** An enrolled voice as identification needs it. */
export interface EnrolledVoice {
  id: string;
  name: string;
  /** Unit-length voiceprint (plain numbers: it travels to the inference worker). */
  embedding: number[];
}

export interface VoiceMatch {
  speaker: string;
  voice: EnrolledVoice;
  score: number;
}

/**
 * One-to-one assignment of diarized speakers to enrolled voices (bestFirstPairs): the most similar pair above
 * `threshold` first, then the next among those left, so two speakers never get the same name.
 */
export function matchVoices(
  speakers: ReadonlyArray<{ speaker: string; embedding: ArrayLike<number> }>,
  voices: readonly EnrolledVoice[],
  threshold: number,
): VoiceMatch[] {
  const pairs: VoiceMatch[] = [];
  for (const s of speakers) {
    for (const voice of voices) {
      const score = cosine(s.embedding, voice.embedding);
      if (score >= threshold) pairs.push({ speaker: s.speaker, voice, score });
    }
  }
  return bestFirstPairs(
    pairs,
    (p) => p.speaker,
    (p) => p.voice.id,
  );
}

/** The result with each matched speaker renamed to its enrolled name, its `speakers` entry carrying the match. */
export function nameSpeakers(result: DiarizationResult, matches: readonly VoiceMatch[]): DiarizationResult {
  const bySpeaker = new Map(matches.map((m) => [m.speaker, m]));
  const rename = (speaker: string) => bySpeaker.get(speaker)?.voice.name ?? speaker;
  return {
    ...result,
    turns: result.turns.map((t) => ({ ...t, speaker: rename(t.speaker) })),
    speakers: result.speakers.map((s) => {
      const m = bySpeaker.get(s.id);
      return m ? { ...s, id: m.voice.name, speaker_id: m.voice.id, match_score: Math.round(m.score * 1000) / 1000 } : s;
    }),
  };
}

/** The enrolled voice most similar to `embedding` when it reaches `threshold`, else null. */
export function nearestVoice(
  embedding: ArrayLike<number>,
  voices: readonly EnrolledVoice[],
  threshold: number,
): { voice: EnrolledVoice; score: number } | null {
  let best: { voice: EnrolledVoice; score: number } | null = null;
  for (const voice of voices) {
    const score = cosine(embedding, voice.embedding);
    if (score >= threshold && (!best || score > best.score)) best = { voice, score };
  }
  return best;
}

/** A speech segment (seconds) labelled by `identify` mode: its nearest enrolled voice, or none. */
export interface IdentifiedSegment {
  start: number;
  end: number;
  match: { voice: EnrolledVoice; score: number } | null;
}

/**
 * `identify` mode's result from each channel's segments: turns named after their voice or `unknown`, where a
 * channel's consecutive segments of one name less than `mergeGapS` apart are one turn; per name, the speech of its
 * turns and the duration-weighted mean score of its segments. `unknown` (possibly several voices) is one entry too.
 */
export function identifiedResult(channels: readonly (readonly IdentifiedSegment[])[], embedder: string, mergeGapS: number): DiarizationResult {
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  const nameOf = (s: IdentifiedSegment): string => s.match?.voice.name ?? UNKNOWN_SPEAKER;
  const turns: SpeakerTurn[] = [];
  const bySpeaker = new Map<string, { total: number; scored: number; weightedScore: number; id?: string }>();
  for (const segments of channels) {
    let open: SpeakerTurn | null = null;
    for (const s of [...segments].sort((a, b) => a.start - b.start)) {
      const name = nameOf(s);
      const entry = bySpeaker.get(name) ?? { total: 0, scored: 0, weightedScore: 0, id: s.match?.voice.id };
      entry.scored += s.end - s.start;
      entry.weightedScore += (s.end - s.start) * (s.match?.score ?? 0);
      bySpeaker.set(name, entry);
      if (open && open.speaker === name && s.start - open.end < mergeGapS) {
        open.end = s.end;
      } else {
        open = { start: s.start, end: s.end, speaker: name };
        turns.push(open);
      }
    }
  }
  for (const t of turns) bySpeaker.get(t.speaker)!.total += t.end - t.start;
  turns.sort((a, b) => a.start - b.start || a.speaker.localeCompare(b.speaker));
  return {
    num_speakers: bySpeaker.size,
    turns: turns.map((t) => ({ start: round(t.start), end: round(t.end), speaker: t.speaker })),
    speakers: [...bySpeaker].map(([name, e]) =>
      e.id === undefined
        ? { id: name, total_s: round(e.total) }
        : { id: name, total_s: round(e.total), speaker_id: e.id, match_score: round(e.scored > 0 ? e.weightedScore / e.scored : 0) },
    ),
    embedder,
  };
}
