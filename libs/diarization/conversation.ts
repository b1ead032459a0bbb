import { seededRandom } from '../math/seeded-random';
import type { Turn } from './der';

export interface ConversationOptions {
  sampleRate: number;
  /** How many turns; every speaker gets at least two. */
  turns: number;
  /** Silence between turns, drawn uniformly from [min, max] seconds. */
  gapS: readonly [number, number];
  /** Silence before the first and after the last turn. */
  edgeS: number;
  seed: number;
}

/**
 * A turn-taking conversation laid end to end from single-speaker utterances (already trimmed to their speech):
 * speakers take turns in a random order that never repeats the last speaker, with no overlap. The reference turns
 * are exact, because each one is exactly one utterance. Speaker ids are the keys of `utterances`.
 */
export function composeConversation(
  utterances: ReadonlyMap<string, readonly Float32Array[]>,
  options: ConversationOptions,
): { audio: Float32Array; turns: Turn[] } {
  const random = seededRandom(options.seed);
  const speakers = [...utterances.keys()];
  if (speakers.length < 2) throw new RangeError('a conversation needs at least two speakers');
  if (options.turns < 2 * speakers.length) throw new RangeError('every speaker needs at least two turns');
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  // Each turn goes to someone other than the last speaker; once the turns left are only enough for the speakers
  // still short of two turns, they go to those.
  const count = new Map(speakers.map((s) => [s, 0]));
  const order: string[] = [];
  for (let i = 0; i < options.turns; i++) {
    const others = speakers.filter((s) => s !== order[i - 1]);
    const short = others.filter((s) => count.get(s)! < 2);
    const owed = speakers.reduce((n, s) => n + Math.max(0, 2 - count.get(s)!), 0);
    const speaker = pick(short.length > 0 && owed >= options.turns - i - 1 ? short : others);
    count.set(speaker, count.get(speaker)! + 1);
    order.push(speaker);
  }
  const sr = options.sampleRate;
  const used = new Map(speakers.map((s) => [s, 0]));
  const pieces: Array<{ speaker: string; samples: Float32Array; gap: number }> = order.map((speaker, i) => {
    const list = utterances.get(speaker)!;
    const n = used.get(speaker)!;
    used.set(speaker, n + 1);
    const [lo, hi] = options.gapS;
    return { speaker, samples: list[n % list.length], gap: i === 0 ? options.edgeS : lo + random() * (hi - lo) };
  });
  const total = pieces.reduce((s, p) => s + Math.round(p.gap * sr) + p.samples.length, 0) + Math.round(options.edgeS * sr);
  const audio = new Float32Array(total);
  const turns: Turn[] = [];
  let at = 0;
  for (const p of pieces) {
    at += Math.round(p.gap * sr);
    audio.set(p.samples, at);
    turns.push({ start: at / sr, end: (at + p.samples.length) / sr, speaker: p.speaker });
    at += p.samples.length;
  }
  return { audio, turns };
}
