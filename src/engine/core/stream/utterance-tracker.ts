/**
 * Endpointing of live audio from per-frame speech probabilities: where an utterance starts, when a partial decode
 * of it is due, and where it ends. Pure: frames in, decisions out; positions are absolute 16 kHz sample indices.
 */

export interface EndpointOptions {
  frameSamples: number;
  /** A frame at or above this starts (or continues) speech. */
  threshold: number;
  /** Speech pauses only below this (Silero's hysteresis). */
  negThreshold: number;
  /** Audio kept before the first speech frame (Silero reacts late on soft onsets). */
  preRollSamples: number;
  /** A pause this long ends the utterance. */
  endSilenceSamples: number;
  /** Speech frames in a row that end a pause: fewer (a noise blip) leave it running. */
  resumeFrames: number;
  /** Audio kept after the last speech frame in the final decode. */
  endPadSamples: number;
  /**
   * A pause this long (at least endPadSamples, less than endSilenceSamples) asks for an early decode of the final:
   * the utterance's audio is complete, and if the pause goes on to end it, the final's text is ready (or nearly).
   * Infinity turns it off.
   */
  earlyFinalSilenceSamples: number;
  /** First partial this far into an utterance, then one every partialIntervalSamples. */
  firstPartialSamples: number;
  partialIntervalSamples: number;
  /** An utterance this long is cut (forced final) at the least speech-like moment of its last cutSearchSamples. */
  maxUtteranceSamples: number;
  cutSearchSamples: number;
}

const SAMPLES_PER_MS = 16;

/**
 * - end silence 500 ms: ends an utterance at a sentence pause (the dev set's 0.3 s gaps between LJ Speech
 *   utterances stay inside one), and keeps end-of-speech → final latency under a second with the decode;
 * - partials every 0.6 s (the first after 0.5 s): the 0.5–1 s, paying one encoder pass each;
 * - forced finals at 25 s, well inside Whisper's 30 s window, cut at the quietest 0.1 s of the last 5 s;
 * - pre-roll and end pad as the offline VAD's 200 ms speech padding, a little more on onsets;
 * - a pause goes on through a single speech frame: after the last word of jfk.wav the audience noise scored one
 *   frame at 0.74 among 0.1–0.5, which held its final back to 1.01 s after the end of speech (0.51 s when ignored).
 */
export const DEFAULT_ENDPOINT_OPTIONS: EndpointOptions = {
  frameSamples: 512,
  threshold: 0.5,
  negThreshold: 0.35,
  preRollSamples: 300 * SAMPLES_PER_MS,
  endSilenceSamples: 500 * SAMPLES_PER_MS,
  resumeFrames: 2,
  endPadSamples: 200 * SAMPLES_PER_MS,
  earlyFinalSilenceSamples: 200 * SAMPLES_PER_MS,
  firstPartialSamples: 500 * SAMPLES_PER_MS,
  partialIntervalSamples: 600 * SAMPLES_PER_MS,
  maxUtteranceSamples: 25_000 * SAMPLES_PER_MS,
  cutSearchSamples: 5_000 * SAMPLES_PER_MS,
};

/**
 * End silence of streams with speaker labels: an utterance gets one label, so a pause between two speakers must end
 * it. Over the 9 DEV conversations (126 turns, 0.3–0.9 s apart; Silero probabilities through this tracker) 500 ms
 * gave 92 utterances, 25 of them spanning two speakers (18% of the speech in the minority voice of its utterance);
 * 400 ms 13; 300 ms 4; 250 ms none (129 utterances).
 */
export const SPEAKER_TURN_END_SILENCE_SAMPLES = 250 * SAMPLES_PER_MS;

/**
 * A decode the stream needs now: [start, end) of its audio; a final closes the utterance up to `end`; an early final
 * is that final's decode started while the pause that may end the utterance goes on (the final, if it comes, has the
 * same start and end).
 */
export type EndpointEvent =
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'early'; start: number; end: number }
  | { kind: 'final'; start: number; end: number; forced: boolean; speech: SpeechBounds };

/**
 * Where the speech of a final's utterance starts and ends (its first speech frame, and where its last pause began),
 * inside [start, end), which also hold the pre-roll and end pad.
 */
export interface SpeechBounds {
  start: number;
  end: number;
}

export class UtteranceTracker {
  /** Next frame's first sample. */
  private position = 0;
  /** Start of the open utterance (pre-roll included), -1 between utterances. */
  private start = -1;
  /** First speech frame of the open utterance (where a forced cut resumed it). */
  private onset = 0;
  /** Where the current pause inside the utterance began, -1 while speech goes on. */
  private silenceStart = -1;
  private nextPartial = 0;
  /** Speech frames in a row up to this one. */
  private speechRun = 0;
  /** The current pause already asked for its early final. */
  private earlySent = false;
  /** End of the last final: the next utterance's pre-roll never reaches back before it. */
  private lastEnd = 0;
  /** Probabilities of the open utterance's frames, from frame `probsFrom`. */
  private probs: number[] = [];
  private probsFrom = 0;

  constructor(private readonly o: EndpointOptions = DEFAULT_ENDPOINT_OPTIONS) {}

  get inUtterance(): boolean {
    return this.start >= 0;
  }

  /** Start of the open utterance, or where audio must still be kept for the next one's pre-roll. */
  get keepFrom(): number {
    return this.start >= 0 ? this.start : Math.max(this.lastEnd, this.position - this.o.preRollSamples);
  }

  /** Scores the next frame; returns the decode that became due, if any. */
  push(prob: number): EndpointEvent | null {
    const { o } = this;
    const at = this.position;
    this.position += o.frameSamples;
    if (this.start < 0) {
      if (prob < o.threshold) return null;
      this.open(Math.max(this.lastEnd, at - o.preRollSamples));
      this.onset = at;
      this.probsFrom = at;
    }
    this.probs.push(prob);
    this.speechRun = prob >= o.threshold ? this.speechRun + 1 : 0;
    if (this.speechRun >= (this.silenceStart < 0 ? 1 : o.resumeFrames)) {
      this.silenceStart = -1;
      this.earlySent = false;
    } else if (prob < o.negThreshold && this.silenceStart < 0) this.silenceStart = at;

    const pause = this.silenceStart >= 0 ? this.position - this.silenceStart : -1;
    const end = Math.min(this.position, this.silenceStart + o.endPadSamples);
    if (pause >= o.endSilenceSamples) return this.close(end, false);
    if (pause >= o.earlyFinalSilenceSamples && !this.earlySent) {
      this.earlySent = true;
      return { kind: 'early', start: this.start, end };
    }
    if (this.position - this.start >= o.maxUtteranceSamples) {
      const cut = this.quietestCut();
      const rest = this.probs.slice((cut - this.probsFrom) / o.frameSamples);
      const event = this.close(cut, true);
      // Speech goes on: the rest is the start of the next utterance.
      this.open(cut);
      this.onset = cut;
      this.probs = rest;
      this.probsFrom = cut;
      return event;
    }
    // Within a pause a partial would show nothing new, and could hold up the final that may follow.
    if (this.silenceStart < 0 && this.position >= this.nextPartial) {
      this.nextPartial = this.position + o.partialIntervalSamples;
      return { kind: 'partial', start: this.start, end: this.position };
    }
    return null;
  }

  /** End of the audio: the open utterance's final, if any. */
  finish(end: number): EndpointEvent | null {
    return this.start >= 0 ? this.close(end, false) : null;
  }

  private open(start: number): void {
    this.start = start;
    this.silenceStart = -1;
    this.earlySent = false;
    this.nextPartial = start + this.o.firstPartialSamples;
  }

  private close(end: number, forced: boolean): EndpointEvent {
    const speechEnd = !forced && this.silenceStart >= 0 ? Math.min(this.silenceStart, end) : end;
    const event: EndpointEvent = { kind: 'final', start: this.start, end, forced, speech: { start: Math.min(this.onset, speechEnd), end: speechEnd } };
    this.lastEnd = end;
    this.start = -1;
    this.silenceStart = -1;
    this.probs = [];
    return event;
  }

  /** A frame boundary in the last cutSearchSamples whose ~0.1 s around has the lowest mean probability. */
  private quietestCut(): number {
    const F = this.o.frameSamples;
    const n = this.probs.length;
    const first = Math.max(1, n - Math.floor(this.o.cutSearchSamples / F));
    let best = n;
    let bestMean = Infinity;
    for (let k = first; k < n; k++) {
      const a = Math.max(0, k - 2);
      const b = Math.min(n, k + 2);
      let sum = 0;
      for (let i = a; i < b; i++) sum += this.probs[i];
      const mean = sum / (b - a);
      if (mean < bestMean) {
        bestMean = mean;
        best = k;
      }
    }
    return this.probsFrom + best * F;
  }
}
