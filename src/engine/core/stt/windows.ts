/** Pure helpers that shape the windows Whisper sees: context around speech, silent windows, unfinished tails. */
import { WHISPER_CHUNK_SAMPLES, WHISPER_SAMPLE_RATE } from '../../../../libs/features/mel';
import type { AudioChunk } from '../audio/vad';

/** Silence kept around each window: VAD reacts late to soft onsets, and Whisper needs the first syllable whole. */
const WINDOW_CONTEXT_SAMPLES = 0.5 * WHISPER_SAMPLE_RATE;
/** Windows quieter than this (RMS, about -60 dBFS) hold no speech: Whisper would only hallucinate on them. */
const SILENCE_RMS = 0.001;
/** A window that stops this many seconds before its end, over speech, gets its tail transcribed again. */
const MIN_TAIL_S = 2;
/** Only after real progress: a tail is always shorter than its window, so re-queuing ends. */
const MIN_COVERED_S = 1;
const MIN_TAIL_SPEECH_FRACTION = 0.3;
/** Whisper's last timestamp is approximate: a tail starts at the quietest frame this close to it. */
const TAIL_LOOKBACK_SAMPLES = 0.4 * WHISPER_SAMPLE_RATE;
const TAIL_LOOKAHEAD_SAMPLES = 0.2 * WHISPER_SAMPLE_RATE;
const SPEECH_PROBABILITY = 0.5;

/** Extends each window into the silence around it (half of each gap, at most 0.5 s, never past 30 s). */
export function widenIntoSilence(chunks: AudioChunk[], totalSamples: number): AudioChunk[] {
  return chunks.map((c, i) => {
    const before = Math.min(WINDOW_CONTEXT_SAMPLES, i ? (c.start - chunks[i - 1].end) / 2 : c.start);
    const after = Math.min(WINDOW_CONTEXT_SAMPLES, i + 1 < chunks.length ? (chunks[i + 1].start - c.end) / 2 : totalSamples - c.end);
    const start = c.start - Math.floor(Math.max(0, Math.min(before, WHISPER_CHUNK_SAMPLES - (c.end - c.start))));
    const end = c.end + Math.floor(Math.max(0, Math.min(after, WHISPER_CHUNK_SAMPLES - (c.end - start))));
    return { start, end };
  });
}

export function isDigitalSilence(samples: Float32Array, range: AudioChunk): boolean {
  let sum = 0;
  for (let i = range.start; i < range.end; i++) sum += samples[i] * samples[i];
  return range.end <= range.start || Math.sqrt(sum / (range.end - range.start)) < SILENCE_RMS;
}

/**
 * The part of `chunk` after `coveredS` seconds (Whisper's last timestamp in it) when that is long and speech
 * (per VAD `probs`, when there are any), starting at the pause nearest that timestamp; otherwise null.
 */
export function unfinishedTail(chunk: AudioChunk, coveredS: number, probs: Float32Array | null, frameSamples: number): AudioChunk | null {
  const windowS = (chunk.end - chunk.start) / WHISPER_SAMPLE_RATE;
  if (coveredS < MIN_COVERED_S || windowS - coveredS < MIN_TAIL_S) return null;
  const coveredAt = chunk.start + Math.round(coveredS * WHISPER_SAMPLE_RATE);
  if (!probs) return { start: coveredAt, end: chunk.end };
  const start = quietestFrame(probs, frameSamples, coveredAt - TAIL_LOOKBACK_SAMPLES, coveredAt + TAIL_LOOKAHEAD_SAMPLES);
  const tail = { start: Math.max(chunk.start, start), end: chunk.end };
  return speechFraction(probs, frameSamples, tail) < MIN_TAIL_SPEECH_FRACTION ? null : tail;
}

/** Start (in samples) of the least speech-like VAD frame in [from, to]; the later one on ties. */
function quietestFrame(probs: Float32Array, frameSamples: number, from: number, to: number): number {
  const first = Math.max(0, Math.floor(from / frameSamples));
  const last = Math.min(probs.length - 1, Math.floor(to / frameSamples));
  let best = last;
  for (let f = last; f >= first; f--) if (probs[f] < probs[best]) best = f;
  return best * frameSamples;
}

function speechFraction(probs: Float32Array, frameSamples: number, range: AudioChunk): number {
  const from = Math.floor(range.start / frameSamples);
  const to = Math.min(probs.length, Math.ceil(range.end / frameSamples));
  let speech = 0;
  for (let f = from; f < to; f++) if (probs[f] >= SPEECH_PROBABILITY) speech++;
  return to > from ? speech / (to - from) : 0;
}
