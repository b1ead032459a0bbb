import type { EmotionScores, StreamSegment, StreamServerMessage, TranscriptSegment } from '../../../../libs/contracts/process';
import { WHISPER_SAMPLE_RATE } from '../../../../libs/features/mel';
import type { StreamOptions } from '../../../contract/engine-types';
import type { ClipTranscript } from '../stt/transcriber';
import type { LiveSpeakerLabel } from './online-speakers';
import { StablePrefix } from './stable-prefix';
import { DEFAULT_ENDPOINT_OPTIONS, type EndpointEvent, type EndpointOptions, type SpeechBounds, UtteranceTracker } from './utterance-tracker';

/** A decode the stream is waiting for, with its audio. */
export interface QueuedDecode {
  event: EndpointEvent;
  clip: Float32Array;
  /** Which utterance of the stream. */
  utterance: number;
  /** performance.now() when it was queued. */
  enqueuedAt: number;
  /** A final whose early decode is done: its result, nothing left to decode. */
  ready?: DecodedUtterance;
}

/** What a final needs besides its text, started beside its decode. */
export interface UtteranceAnnotations {
  embedding?: Promise<Float32Array>;
  emotion?: Promise<EmotionScores>;
}

export interface DecodedUtterance {
  result: ClipTranscript;
  annotations: UtteranceAnnotations;
}

/** An early final's decode, in flight or done. */
interface EarlyDecode {
  start: number;
  end: number;
  done?: DecodedUtterance;
}

/**
 * One live stream in the inference worker: the audio it still needs, its endpointing, its queue of decodes, and
 * what it has sent. The hub scores its frames and runs its decodes in queue order; the session turns their results
 * into messages. A queued partial is replaced by a newer one of the same utterance, and dropped when its final comes
 * if the utterance already had one, so a stream that falls behind skips partials, never finals. An early final
 * (decoded while the pause that may end the utterance goes on) becomes the final when the pause does end it; when
 * speech resumes instead, it is dropped if still queued, and its result is ignored.
 */
export class StreamSession {
  readonly tracker: UtteranceTracker;
  readonly queue: QueuedDecode[] = [];
  /** The client sent "end": the rest of the audio is flushed. */
  ending = false;
  /** Every sample has been scored and the last utterance closed. */
  private audioFinished = false;
  private readonly prefix = new StablePrefix();
  private readonly frameSamples: number;
  /** Held audio: absolute samples [audioStart, audioStart + length). */
  private audio = new Float32Array(WHISPER_SAMPLE_RATE * 4);
  private audioStart = 0;
  private length = 0;
  /** First sample of the next frame to score. */
  private scored = 0;
  private nextSegmentId = 0;
  private lastPartial = '';
  private utterance = 0;
  /** Utterance of the last partial decode started. */
  private partialStartedFor = -1;
  /** The open utterance's early final decode, once taken from the queue. */
  private early: EarlyDecode | null = null;
  /** Requested language until a final detects it for "auto", then that one for the rest of the stream. */
  language: string;
  /** Disconnected or failed: results still in flight for it go nowhere. */
  closed = false;
  /** Messages waiting to go out in order (a final may wait a moment for its emotion). */
  outbox: Promise<void> = Promise.resolve();

  constructor(
    readonly options: StreamOptions,
    readonly vadState: object,
    endpoint: EndpointOptions = DEFAULT_ENDPOINT_OPTIONS,
  ) {
    this.tracker = new UtteranceTracker(endpoint);
    this.frameSamples = endpoint.frameSamples;
    this.language = options.transcribe.language;
  }

  get received(): number {
    return this.audioStart + this.length;
  }

  /** Audio waiting for the service: received but not yet scored, and in finals not yet decoded. */
  get backlog(): number {
    return this.unscored + this.queue.reduce((n, q) => n + (q.event.kind === 'final' ? q.clip.length : 0), 0);
  }

  /** Adds audio; false when the backlog would pass the limit (the client sends faster than the service keeps up). */
  append(samples: Float32Array): boolean {
    if (this.backlog + samples.length > this.options.maxBufferedSamples) return false;
    const keepFrom = Math.min(this.tracker.keepFrom, this.scored);
    const drop = Math.max(0, keepFrom - this.audioStart);
    const needed = this.length - drop + samples.length;
    if (needed > this.audio.length) {
      const bigger = new Float32Array(Math.max(needed, this.audio.length * 2));
      bigger.set(this.audio.subarray(drop, this.length));
      this.audio = bigger;
    } else if (drop > 0) {
      this.audio.copyWithin(0, drop, this.length);
    }
    this.audioStart += drop;
    this.length -= drop;
    this.audio.set(samples, this.length);
    this.length += samples.length;
    return true;
  }

  private get unscored(): number {
    return this.received - this.scored;
  }

  /** A full frame is waiting to be scored (or, once ending, any rest of one). */
  get hasFrame(): boolean {
    if (this.audioFinished) return false;
    return this.unscored >= this.frameSamples || (this.ending && this.unscored > 0);
  }

  /** The next frame, zero-padded at the end of the audio, written into `into`. */
  readFrame(into: Float32Array): void {
    const from = this.scored - this.audioStart;
    const to = Math.min(this.length, from + this.frameSamples);
    into.set(this.audio.subarray(from, to));
    into.fill(0, to - from);
  }

  onProbability(prob: number): void {
    this.scored += this.frameSamples;
    const event = this.tracker.push(prob);
    if (event) this.enqueue(event);
  }

  /**
   * Once ending with every frame scored: closes the last utterance (its final is queued). True when the stream
   * has nothing left to do.
   */
  settle(): boolean {
    if (!this.ending || this.hasFrame || this.queue.length) return false;
    if (this.audioFinished) return true;
    this.audioFinished = true;
    const event = this.tracker.finish(this.received);
    if (event) this.enqueue(event);
    return event === null;
  }

  /** The next decode to run, out of the queue. */
  take(): QueuedDecode {
    const next = this.queue.shift()!;
    if (next.event.kind === 'partial') this.partialStartedFor = next.utterance;
    if (next.event.kind === 'early') this.early = { start: next.event.start, end: next.event.end };
    return next;
  }

  /**
   * An early final's decode is done: kept for the final, unless speech resumed since. (The hub scores frames only
   * between decodes, so the final that the pause may bring always finds its early decode done.)
   */
  earlyDecoded(decode: QueuedDecode, decoded: DecodedUtterance): void {
    if (this.early?.start === decode.event.start && this.early.end === decode.event.end) this.early.done = decoded;
  }

  private enqueue(event: EndpointEvent): void {
    const utterance = this.utterance;
    if (event.kind === 'final') this.utterance++;
    const clip = this.audio.slice(event.start - this.audioStart, Math.min(event.end, this.received) - this.audioStart);
    const decode: QueuedDecode = { event, clip, utterance, enqueuedAt: performance.now() };
    // A newer event of the utterance replaces its queued early final (a final decodes the same audio; anything else
    // means speech went on) and its queued partial (when the utterance already showed one, if a final is coming).
    const stale = (q: QueuedDecode): boolean =>
      q.utterance === utterance &&
      (q.event.kind === 'early' || (q.event.kind === 'partial' && (event.kind === 'partial' || this.partialStartedFor === utterance)));
    const kept = this.queue.filter((q) => !stale(q));
    this.queue.splice(0, this.queue.length, ...kept);
    const early = this.early;
    this.early = null;
    if (event.kind === 'final' && early?.start === event.start && early.end === event.end) decode.ready = early.done;
    this.queue.push(decode);
  }

  /** A partial of the open utterance has been sent. */
  get showedPartial(): boolean {
    return this.lastPartial !== '';
  }

  /** A partial's message, or null when its text is empty or unchanged. */
  partial(event: EndpointEvent, result: ClipTranscript): StreamServerMessage | null {
    const text = this.prefix.update(result.segments.map((s) => s.text).join(' '));
    if (!text || text === this.lastPartial) return null;
    this.lastPartial = text;
    return { type: 'partial', text, start: seconds(event.start), end: seconds(Math.min(event.end, this.received)) };
  }

  /**
   * The final segments of an utterance, with absolute times and ids running over the whole stream, its speaker and
   * emotion on each; the segment's own fields also at the top level (the seed contract).
   */
  final(event: EndpointEvent, result: ClipTranscript, speaker?: LiveSpeakerLabel): StreamSegment[] {
    this.prefix.reset();
    this.lastPartial = '';
    if (this.language === 'auto' && result.segments.length) this.language = result.language;
    const offset = seconds(event.start);
    const segments = result.segments.map((s) => ({ ...this.absolute(s, offset), ...speaker }));
    if (event.kind === 'final' && segments.length) spanSpeech(segments, event.speech);
    return segments;
  }

  private absolute(s: TranscriptSegment, offset: number): TranscriptSegment {
    return {
      ...s,
      id: this.nextSegmentId++,
      start: round(s.start + offset),
      end: round(s.end + offset),
      ...(s.words ? { words: s.words.map((w) => ({ ...w, start: round(w.start + offset), end: round(w.end + offset) })) } : {}),
    };
  }
}

/**
 * The utterance's outer times from the VAD: the first segment starts where its speech starts, the last ends where it
 * ends. Whisper's own timestamps there are guesses over the padded clip: on a DEV conversation whisper-tiny's turn
 * starts were a median 0.28 s off (up to 0.5 s) and its ends up to 0.8 s. The speech bounds, over 414 turns of 33
 * RAVDESS conversations streamed: start a median 13 ms late, end 43 ms late, 80% of both within 0.08 s.
 */
function spanSpeech(segments: StreamSegment[], speech: SpeechBounds): void {
  const first = segments[0];
  const last = segments[segments.length - 1];
  // Word timings, when asked for, stay inside their segment.
  const start = Math.min(seconds(speech.start), first.words?.[0]?.start ?? Infinity);
  const end = Math.max(seconds(speech.end), last.words?.at(-1)?.end ?? -Infinity);
  if (start < first.end) first.start = start;
  if (end > last.start) last.end = end;
}

/** The final frame of a segment, with its emotion when known. */
export function finalMessage(segment: StreamSegment, emotion?: EmotionScores): StreamServerMessage {
  const withEmotion = emotion ? { ...segment, emotion } : segment;
  return {
    type: 'final',
    segment: withEmotion,
    start: segment.start,
    end: segment.end,
    text: segment.text,
    words: segment.words ?? [],
    ...(emotion ? { emotional: emotion.scores } : {}),
  };
}

function seconds(samples: number): number {
  return round(samples / WHISPER_SAMPLE_RATE);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
