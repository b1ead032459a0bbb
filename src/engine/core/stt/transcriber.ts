import { deflateSync } from 'node:zlib';
import type { TranscriptionResult, TranscriptSegment, Word } from '../../../../libs/contracts/process';
import { WHISPER_CHUNK_SAMPLES, WHISPER_SAMPLE_RATE } from '../../../../libs/features/mel';
import { ENCODER_FRAME_SAMPLES, shortWindowLogMel } from '../../../../libs/features/pooling';
import type { WhisperTokenizer } from '../../../../libs/tokenizer/whisper-tokenizer';
import type { TranscribeOptions } from '../../../contract/engine-types';
import { EarshotError } from '../../../contract/errors';
import { type AudioChunk, fixedChunks, planChunks, type SpeechProbabilityModel, speechRegions } from '../audio/vad';
import { type DecodedSequence, WhisperDecoder } from './decoding';
import { splitAtTimestamps, TIMESTAMP_STEP_S } from './segments';
import { isDigitalSilence, unfinishedTail, widenIntoSilence } from './windows';
import { seededRandom } from '../../../../libs/math/seeded-random';
import { FRAMES_PER_SECOND, mergePunctuation, type TimedWord, tokenBoundaries } from './word-alignment';
import type { EncodedAudio, WhisperModel } from './whisper-model';
import { WindowBatcher, type WindowBatcherSettings } from './window-batcher';

/** Decoding of independent clips (live utterances): `fallback` false decodes once; `shortWindowPadS` replaces the model's setting. */
export type ClipDecodeOptions = TranscribeOptions & {
  fallback: boolean;
  shortWindowPadS?: number | null;
  /** Asked between decoder steps: true abandons the decode (DecodeInterrupted). */
  interrupt?: () => Promise<boolean>;
};

export interface TranscriberSettings {
  /**
   * Windows shorter than 30 s are encoded at their own length plus this many seconds of silence (whisper.cpp's
   * audio_ctx), which costs a fraction of a 30 s window; null encodes every window as 30 s, as Whisper was trained.
   */
  shortWindowPadS: number | null;
  /** Requests whose audio is one window share decoder batches (see WindowBatcher); absent or null: each decodes alone. */
  batching?: WindowBatcherSettings | null;
}

/** openai-whisper's defaults for deciding a window's decode failed and for skipping silence. */
const COMPRESSION_RATIO_THRESHOLD = 2.4;
const LOGPROB_THRESHOLD = -1;
const NO_SPEECH_THRESHOLD = 0.6;
const TEMPERATURE_STEP = 0.2;
const SAMPLES_PER_FALLBACK = 5;
/**
 * A short window of a request that is one window is encoded in whole steps of 2 s (100 encoder frames), its padding
 * 10–12 s instead of 10 s: only windows of equal encoded length can share a batch and still decode exactly as alone
 * (a longer neighbour would add silence to a shorter window), and steps let windows of similar length meet.
 */
const BATCHED_WINDOW_STEP_FRAMES = 100;

/** The temperatures tried in turn: the given schedule, else `temperature` and then 0.2 steps up to 1. */
export function temperatureSchedule(opts: Pick<TranscribeOptions, 'temperature' | 'temperatures'>): number[] {
  if (opts.temperatures?.length) return opts.temperatures;
  const schedule = [opts.temperature];
  while (schedule[schedule.length - 1] + TEMPERATURE_STEP <= 1 + 1e-6) schedule.push(schedule[schedule.length - 1] + TEMPERATURE_STEP);
  return schedule;
}

/** The thresholds that judge a decode, with openai-whisper's defaults; null turns a check off. */
interface DecodeChecks {
  compressionRatio: number | null;
  logProb: number | null;
  noSpeech: number | null;
}

function decodeChecks(opts: TranscribeOptions): DecodeChecks {
  return {
    compressionRatio: opts.compressionRatioThreshold === undefined ? COMPRESSION_RATIO_THRESHOLD : opts.compressionRatioThreshold,
    logProb: opts.logProbThreshold === undefined ? LOGPROB_THRESHOLD : opts.logProbThreshold,
    noSpeech: opts.noSpeechThreshold === undefined ? NO_SPEECH_THRESHOLD : opts.noSpeechThreshold,
  };
}

/** A word with the index of its first text token in the window, to place it in its segment. */
interface AlignedWord extends TimedWord {
  firstToken: number;
}

interface Attempt {
  decoded: DecodedSequence;
  repetitive: boolean;
  /** Needs another try at a higher temperature. */
  failed: boolean;
}

/** The last attempt if it passed; else the likeliest non-repetitive one; else the likeliest. */
function bestAttempt(tries: Attempt[]): Attempt {
  const final = tries[tries.length - 1];
  if (!final.failed) return final;
  const pool = tries.some((t) => !t.repetitive) ? tries.filter((t) => !t.repetitive) : tries;
  return pool.reduce((a, b) => (b.decoded.avgLogprob > a.decoded.avgLogprob ? b : a));
}

/** One clip of the streaming path: segment times are relative to the clip. */
export interface ClipTranscript {
  language: string;
  segments: TranscriptSegment[];
}

interface WindowResult {
  chunk: AudioChunk;
  decoded: DecodedSequence;
  language: string;
  /** The window holds no speech: it gives no segments. */
  silence: boolean;
}

/** The window of a request whose audio is one window, waiting to share a batch with other such requests. */
interface WindowJob {
  samples: Float32Array;
  chunk: AudioChunk;
  /** null: detected from this window. */
  language: string | null;
  opts: TranscribeOptions;
  promptTokens: number[];
  random: () => number;
}

interface WindowOutcome {
  result: WindowResult;
  words: AlignedWord[] | null;
  /** Probability of the detected language; 1 when it was given. */
  languageProb: number;
}

/** The options that change how a window decodes: only jobs that agree on all of them share a batch. */
function decodeKey(opts: TranscribeOptions): string {
  return JSON.stringify([
    opts.task,
    opts.beamSize,
    temperatureSchedule(opts),
    opts.bestOf ?? null,
    opts.patience ?? null,
    decodeChecks(opts),
    opts.withoutTimestamps ?? false,
    opts.maxNewTokens ?? null,
    opts.wordTimestamps,
    opts.initialPrompt,
    opts.batchSize,
  ]);
}

export function compressionRatio(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length ? bytes.length / deflateSync(bytes).length : 0;
}

/**
 * Speech to text over audio of any length: voice activity splits it into windows of at most 30 s, windows are
 * encoded and decoded in batches, failed decodes fall back to higher temperatures, and segments come back with
 * absolute timestamps. Memory stays bounded by the batch, whatever the audio length.
 */
export class WhisperTranscriber {
  private readonly decoder: WhisperDecoder;
  private readonly batcher: WindowBatcher<WindowJob, WindowOutcome> | null;

  constructor(
    private readonly model: WhisperModel,
    private readonly tokenizer: WhisperTokenizer,
    private readonly vad: SpeechProbabilityModel,
    private readonly settings: TranscriberSettings,
  ) {
    this.decoder = new WhisperDecoder(model, tokenizer);
    this.batcher = settings.batching ? new WindowBatcher(settings.batching, (jobs, settle) => this.decodeWindows(jobs, settle)) : null;
  }

  async transcribe(samples: Float32Array, opts: TranscribeOptions, onProgress: (fraction: number) => void = () => undefined): Promise<TranscriptionResult> {
    const { chunks, probs } = await this.planWindows(samples, opts.vadFilter);
    const totalSamples = chunks.reduce((sum, c) => sum + c.end - c.start, 0);
    let language = this.resolveLanguage(opts.language);
    let languageProb = 1;
    const promptTokens = opts.initialPrompt ? this.tokenizer.encode(' ' + opts.initialPrompt.trim()) : [];
    const random = seededRandom(samples.length);
    const windowsPerBatch = Math.max(1, Math.floor(opts.batchSize / Math.max(1, opts.beamSize)));
    const segments: TranscriptSegment[] = [];
    const queue = [...chunks];
    let done = 0;
    onProgress(0);

    // Audio that is one window (its unfinished tail, if any, too) shares a batch with other such requests.
    const batcher = chunks.length === 1 ? this.batcher : null;
    const options = decodeKey(opts);

    while (queue.length) {
      const batch = queue.splice(0, windowsPerBatch);
      let results: WindowResult[];
      let words: Array<AlignedWord[] | null> | null;
      if (batcher) {
        const frames = this.encoderFrames(batch, this.settings.shortWindowPadS, BATCHED_WINDOW_STEP_FRAMES);
        const job = { samples, chunk: batch[0], language, opts, promptTokens, random };
        const outcome = await batcher.submit(`${options}/${frames}`, job, windowsPerBatch);
        if (language === null) {
          language = outcome.result.language;
          languageProb = outcome.languageProb;
        }
        results = [outcome.result];
        words = [outcome.words];
      } else {
        const audio = await this.encode(samples, batch, this.settings.shortWindowPadS);
        if (language === null) {
          ({ language, languageProb } = await this.detectLanguage(audio, batch));
        }
        const batchLanguage = language;
        results = await this.decodeWithFallback(
          audio,
          batch,
          batch.map(() => batchLanguage),
          opts,
          promptTokens,
          batch.map(() => random),
        );
        words = opts.wordTimestamps ? await this.alignWords(audio, results, opts.task) : null;
      }
      results.forEach((r, i) => segments.push(...this.toSegments(r, words?.[i] ?? null)));
      const tails = results.map((r) => this.unfinishedTail(r, probs)).filter((t): t is AudioChunk => t !== null);
      queue.unshift(...tails);
      done += batch.reduce((sum, c) => sum + c.end - c.start, 0) - tails.reduce((sum, c) => sum + c.end - c.start, 0);
      onProgress(totalSamples ? done / totalSamples : 1);
    }
    segments.sort((a, b) => a.start - b.start);
    segments.forEach((segment, id) => (segment.id = id));
    endBeforeNext(segments);
    onProgress(1);
    return {
      language: language ?? this.fallbackLanguage(),
      language_prob: languageProb,
      text: segments
        .map((s) => s.text)
        .join(this.joiner(language))
        .trim(),
      segments,
    };
  }

  /**
   * The streaming path: each clip (at most 30 s, already cut by the caller's voice activity detection) is one
   * window, and all clips, whichever stream they come from, are encoded and decoded as one batch. `languages[i]`
   * is clip i's requested language ("auto" detects it). Without `fallback` each clip is decoded once at the first
   * temperature (partial results, which only need to be quick).
   */
  async transcribeClips(clips: Float32Array[], languages: string[], opts: ClipDecodeOptions): Promise<ClipTranscript[]> {
    const chunks: AudioChunk[] = [];
    let total = 0;
    for (const clip of clips) {
      chunks.push({ start: total, end: total + clip.length });
      total += clip.length;
    }
    const samples = new Float32Array(total);
    clips.forEach((clip, i) => samples.set(clip, chunks[i].start));
    const audio = await this.encode(samples, chunks, opts.shortWindowPadS === undefined ? this.settings.shortWindowPadS : opts.shortWindowPadS);
    const resolved = languages.map((l) => this.resolveLanguage(l));
    const unknown = resolved.flatMap((l, i) => (l === null ? [i] : []));
    if (unknown.length) {
      const { probs } = await this.decoder.detectLanguage(this.model.selectAudio(audio, unknown));
      unknown.forEach((i, k) => (resolved[i] = Object.entries(probs[k]).reduce((a, b) => (b[1] > a[1] ? b : a))[0]));
    }
    const promptTokens = opts.initialPrompt ? this.tokenizer.encode(' ' + opts.initialPrompt.trim()) : [];
    const random = seededRandom(total);
    const results = await this.decodeWithFallback(
      audio,
      chunks,
      resolved as string[],
      opts,
      promptTokens,
      chunks.map(() => random),
      opts.fallback,
    );
    const words = opts.wordTimestamps ? await this.alignWords(audio, results, opts.task) : null;
    return results.map((r, i) => {
      const segments = this.toSegments({ ...r, chunk: { start: 0, end: clips[i].length } }, words?.[i] ?? null);
      segments.forEach((segment, id) => (segment.id = id));
      endBeforeNext(segments);
      return { language: r.language, segments };
    });
  }

  /** null for "auto" on a multilingual model; English-only models always speak English. */
  resolveLanguage(requested: string): string | null {
    if (!this.tokenizer.languages.length) {
      if (requested !== 'auto' && requested !== 'en' && requested !== 'english') {
        throw new EarshotError('invalid_settings', `model ${this.model.config.name} is English-only; language "${requested}" is not possible`);
      }
      return 'en';
    }
    if (requested === 'auto') return null;
    try {
      return this.tokenizer.languageOf(this.tokenizer.languageToken(requested))!;
    } catch {
      throw new EarshotError('invalid_settings', `unknown language "${requested}"; use an ISO 639-1 code such as "en" or "auto"`);
    }
  }

  /** Language reported when nothing was transcribed, so nothing was detected. */
  private fallbackLanguage(): string {
    return this.tokenizer.languages.includes('en') ? 'en' : (this.tokenizer.languages[0] ?? 'en');
  }

  private async planWindows(samples: Float32Array, vadFilter: boolean): Promise<{ chunks: AudioChunk[]; probs: Float32Array | null }> {
    if (!vadFilter) return { chunks: fixedChunks(samples.length, WHISPER_CHUNK_SAMPLES).filter((c) => !isDigitalSilence(samples, c)), probs: null };
    const probs = await this.vad.speechProbabilities(samples);
    const regions = speechRegions(probs, samples.length);
    const chunks = planChunks(regions, probs, { maxChunkSamples: WHISPER_CHUNK_SAMPLES, frameSamples: this.vad.frameSamples });
    return { chunks: widenIntoSilence(chunks, samples.length), probs };
  }

  /** Whisper often ends a window at its last complete sentence: the rest is queued as a window of its own. */
  private unfinishedTail(r: WindowResult, probs: Float32Array | null): AudioChunk | null {
    if (r.silence) return null;
    const last = r.decoded.tokens[r.decoded.tokens.length - 1];
    // Text running to the end of the window (no closing timestamp) covered it all.
    if (last === undefined || !this.tokenizer.isTimestamp(last)) return null;
    return unfinishedTail(r.chunk, this.tokenizer.timestampSeconds(last), probs, this.vad.frameSamples);
  }

  private async encode(samples: Float32Array, batch: AudioChunk[], shortWindowPadS: number | null, stepFrames = 1): Promise<EncodedAudio> {
    const melFrames = 2 * this.encoderFrames(batch, shortWindowPadS, stepFrames);
    const size = this.model.config.nMels * melFrames;
    const features = new Float32Array(batch.length * size);
    batch.forEach((c, i) => shortWindowLogMel(samples.subarray(c.start, c.end), this.model.config.nMels, melFrames, features, i * size));
    return this.model.encode(features, batch.length);
  }

  /** Encoder frames for a batch: its longest window plus the padding, rounded up to `stepFrames`; or a whole 30 s window. */
  private encoderFrames(batch: AudioChunk[], shortWindowPadS: number | null, stepFrames = 1): number {
    const full = this.model.config.audioFrames;
    if (shortWindowPadS === null) return full;
    const longest = Math.max(...batch.map((c) => c.end - c.start));
    const frames = Math.ceil((longest + shortWindowPadS * WHISPER_SAMPLE_RATE) / ENCODER_FRAME_SAMPLES);
    return Math.min(full, Math.ceil(frames / stepFrames) * stepFrames);
  }

  /** One language for the whole file, from the windows of the first batch weighted by their length. */
  private async detectLanguage(audio: EncodedAudio, batch: AudioChunk[]): Promise<{ language: string; languageProb: number }> {
    const { probs } = await this.decoder.detectLanguage(audio);
    return likeliestLanguage(probs, batch);
  }

  /**
   * The windows of several single-window requests as one batch: one encoder call, one decoder loop over all rows.
   * Each job keeps what it would have alone: its language (detected from its own window when not given), its
   * random source, its segments. The jobs share their decoding options (the batcher groups them by decodeKey). Each
   * job is settled once its window is decoded: one that needs no fallback does not wait for another's retries.
   */
  private async decodeWindows(jobs: WindowJob[], settle: (index: number, outcome: WindowOutcome) => void): Promise<void> {
    const { opts, promptTokens } = jobs[0];
    const local: AudioChunk[] = [];
    let total = 0;
    for (const { chunk } of jobs) {
      local.push({ start: total, end: total + chunk.end - chunk.start });
      total += chunk.end - chunk.start;
    }
    const samples = new Float32Array(total);
    jobs.forEach((j, i) => samples.set(j.samples.subarray(j.chunk.start, j.chunk.end), local[i].start));
    const audio = await this.encode(samples, local, this.settings.shortWindowPadS, BATCHED_WINDOW_STEP_FRAMES);
    const languages = jobs.map((j) => j.language);
    const languageProbs = jobs.map(() => 1);
    const unknown = languages.flatMap((l, i) => (l === null ? [i] : []));
    if (unknown.length) {
      const { probs } = await this.decoder.detectLanguage(this.model.selectAudio(audio, unknown));
      unknown.forEach((i, k) => {
        const detected = likeliestLanguage([probs[k]], [local[i]]);
        languages[i] = detected.language;
        languageProbs[i] = detected.languageProb;
      });
    }
    const chunks = jobs.map((j) => j.chunk);
    await this.decodeWithFallback(
      audio,
      chunks,
      languages as string[],
      opts,
      promptTokens,
      jobs.map((j) => j.random),
      true,
      async (i, result) => {
        const words = opts.wordTimestamps ? (await this.alignWords(this.model.selectAudio(audio, [i]), [result], opts.task))[0] : null;
        settle(i, { result, words, languageProb: languageProbs[i] });
      },
    );
  }

  /**
   * Decodes every window, re-decoding hotter the ones whose text is repetitive or unlikely. When no temperature
   * gives an acceptable decode, the best attempt is kept (not the hottest one, as openai-whisper does).
   */
  private async decodeWithFallback(
    audio: EncodedAudio,
    batch: AudioChunk[],
    languages: string[],
    opts: TranscribeOptions & Pick<ClipDecodeOptions, 'interrupt'>,
    promptTokens: number[],
    /** The random source of each window. */
    randoms: Array<() => number>,
    fallback = true,
    /** Told each window's result as soon as its attempts are over, before the other windows' retries run. */
    onWindow?: (index: number, result: WindowResult) => Promise<void>,
  ): Promise<WindowResult[]> {
    const attempts: Attempt[][] = batch.map(() => []);
    const checks = decodeChecks(opts);
    const result = (i: number): WindowResult => {
      const decoded = bestAttempt(attempts[i]).decoded;
      return { chunk: batch[i], decoded, language: languages[i], silence: isSilence(decoded, checks) };
    };
    const schedule = temperatureSchedule(opts);
    let pending = batch.map((_, i) => i);
    for (let step = 0; pending.length; step++) {
      const temperature = schedule[step];
      const last = !fallback || step === schedule.length - 1;
      // Sampling draws several candidates per window and keeps the likeliest (openai-whisper's best_of).
      const copies = temperature > 0 ? Math.max(1, opts.bestOf ?? SAMPLES_PER_FALLBACK) : 1;
      const rows = pending.flatMap((i) => Array<number>(copies).fill(i));
      const decoded: DecodedSequence[] = [];
      const rowsPerRun = Math.max(copies, opts.batchSize - (opts.batchSize % copies));
      for (let from = 0; from < rows.length; from += rowsPerRun) {
        const part = rows.slice(from, from + rowsPerRun);
        decoded.push(
          ...(await this.decoder.decode(
            this.model.selectAudio(audio, part),
            part.map((i) => languages[i]),
            part.map((i) => (batch[i].end - batch[i].start) / WHISPER_SAMPLE_RATE),
            {
              task: opts.task,
              beamSize: opts.beamSize,
              temperature,
              promptTokens,
              random: part.map((i) => randoms[i]),
              patience: opts.patience ?? 1,
              withoutTimestamps: opts.withoutTimestamps ?? false,
              maxNewTokens: opts.maxNewTokens ?? null,
              interrupt: opts.interrupt,
            },
          )),
        );
      }
      const retry: number[] = [];
      pending.forEach((i, k) => {
        const candidates = decoded.slice(k * copies, (k + 1) * copies);
        const attempt = this.assess(
          candidates.reduce((a, b) => (b.avgLogprob > a.avgLogprob ? b : a)),
          checks,
        );
        attempts[i].push(attempt);
        if (!last && attempt.failed) retry.push(i);
      });
      if (onWindow) for (const i of pending) if (!retry.includes(i)) await onWindow(i, result(i));
      pending = retry;
    }
    return batch.map((_, i) => result(i));
  }

  private assess(decoded: DecodedSequence, checks: DecodeChecks): Attempt {
    const repetitive = checks.compressionRatio !== null && compressionRatio(this.tokenizer.decode(decoded.tokens)) > checks.compressionRatio;
    const unlikely = checks.logProb !== null && decoded.avgLogprob < checks.logProb;
    const likelySilent = checks.noSpeech !== null && decoded.noSpeechProb > checks.noSpeech;
    return { decoded, repetitive, failed: !likelySilent && (repetitive || unlikely) };
  }

  /** Word timings per window, from a teacher-forced decoder pass over its text. */
  private async alignWords(audio: EncodedAudio, results: WindowResult[], task: TranscribeOptions['task']): Promise<Array<AlignedWord[] | null>> {
    const { special } = this.tokenizer;
    const heads = this.model.config.alignmentHeads;
    const texts = results.map((r) => r.decoded.tokens.filter((t) => !this.tokenizer.isTimestamp(t)));
    const rows = results.map((_, i) => i).filter((i) => texts[i].length && !results[i].silence);
    const out: Array<AlignedWord[] | null> = results.map(() => null);
    if (!rows.length) return out;
    const prefix = (language: string): number[] =>
      this.tokenizer.languages.length
        ? [special.sot, this.tokenizer.languageToken(language), task === 'translate' ? special.translate : special.transcribe, special.noTimestamps]
        : [special.sot, special.noTimestamps];
    const sotLength = prefix('en').length;
    const frames = audio.frames;
    for (const i of rows) {
      const text = texts[i];
      // One window per pass, at its own length: activations are quantized per row over all its positions, so
      // padding it to a longer neighbour's length would move its timings.
      const length = sotLength + text.length + 1;
      const tokens = Int32Array.from([...prefix(results[i].language), ...text, special.eot]);
      const attention = await this.model.crossAttentions(this.model.selectAudio(audio, [i]), tokens, length);
      const n = text.length + 1; // the notimestamps row, then one row per text token
      const windowFrames = Math.min(frames, Math.ceil(((results[i].chunk.end - results[i].chunk.start) / WHISPER_SAMPLE_RATE) * FRAMES_PER_SECOND));
      const block = new Float32Array(heads.length * n * frames);
      for (let h = 0; h < heads.length; h++) {
        const from = (h * length + sotLength - 1) * frames;
        block.set(attention.subarray(from, from + n * frames), h * n * frames);
      }
      const starts = tokenBoundaries(block, heads.length, n, windowFrames);
      const probs = results[i].decoded.tokens
        .map((t, j) => (this.tokenizer.isTimestamp(t) ? NaN : Math.exp(results[i].decoded.tokenLogprobs[j])))
        .filter((p) => !Number.isNaN(p));
      const words: AlignedWord[] = [];
      let at = 0;
      for (const w of this.tokenizer.splitToWordTokens(text, results[i].language)) {
        const end = at + w.tokens.length;
        const p = probs.slice(at, end);
        words.push({ word: w.word, start: starts[at], end: starts[end], prob: p.reduce((a, b) => a + b, 0) / p.length, firstToken: at });
        at = end;
      }
      out[i] = words;
    }
    return out;
  }

  /** A window's segments with absolute times; ids are assigned once all windows are done. */
  private toSegments(r: WindowResult, words: AlignedWord[] | null): TranscriptSegment[] {
    const d = r.decoded;
    if (r.silence) return [];
    const offset = r.chunk.start / WHISPER_SAMPLE_RATE;
    const duration = (r.chunk.end - r.chunk.start) / WHISPER_SAMPLE_RATE;
    const pieces = splitAtTimestamps(d.tokens, this.tokenizer.special.timestampBegin, duration);

    const ratio = compressionRatio(this.tokenizer.decode(d.tokens));
    const segments: TranscriptSegment[] = [];
    let wordIndex = 0;
    for (const p of pieces) {
      const text = this.tokenizer.decode(p.tokens).trim();
      const start = round(offset + p.start);
      const end = round(offset + Math.min(Math.max(p.end, p.start + TIMESTAMP_STEP_S), duration));
      const segment: TranscriptSegment = {
        id: 0,
        start,
        end: Math.max(end, start),
        text,
        avg_logprob: round(d.avgLogprob, 4),
        no_speech_prob: round(d.noSpeechProb, 4),
        compression_ratio: round(ratio, 3),
        temperature: round(d.temperature, 2),
      };
      if (words) {
        // Words whose first token lies in this piece belong to it; their times are clamped into it.
        const pieceWords: Word[] = [];
        while (wordIndex < words.length && words[wordIndex].firstToken < p.firstText + p.tokens.length) {
          const w = words[wordIndex++];
          const ws = Math.min(Math.max(offset + w.start, segment.start), segment.end);
          const we = Math.min(Math.max(offset + w.end, ws), segment.end);
          pieceWords.push({ word: w.word.trim(), start: round(ws), end: round(we), prob: round(w.prob, 4) });
        }
        segment.words = mergePunctuation(pieceWords).filter((w) => w.word.length);
      }
      if (text) segments.push(segment);
    }
    return segments;
  }

  private joiner(language: string | null): string {
    return language === 'zh' || language === 'ja' || language === 'th' || language === 'yue' ? '' : ' ';
  }
}

/** The language likeliest over windows weighted by their length, and its weighted probability. */
function likeliestLanguage(probs: Array<Record<string, number>>, windows: AudioChunk[]): { language: string; languageProb: number } {
  const total: Record<string, number> = {};
  let weight = 0;
  probs.forEach((p, i) => {
    const w = windows[i].end - windows[i].start;
    weight += w;
    for (const [code, prob] of Object.entries(p)) total[code] = (total[code] ?? 0) + prob * w;
  });
  const [language, score] = Object.entries(total).reduce((a, b) => (b[1] > a[1] ? b : a));
  return { language, languageProb: score / weight };
}

/**
 * A re-queued tail starts at a pause that can lie just before the (approximate) end Whisper gave the segment
 * before it: such a segment, and its words, end where the next one starts.
 */
function endBeforeNext(segments: TranscriptSegment[]): void {
  for (let i = 0; i + 1 < segments.length; i++) {
    const s = segments[i];
    const limit = Math.max(s.start, segments[i + 1].start);
    if (s.end <= limit) continue;
    s.end = limit;
    for (const w of s.words ?? []) {
      w.end = Math.min(w.end, limit);
      w.start = Math.min(w.start, w.end);
    }
  }
}

/** openai-whisper's silence rule: likely no speech and unlikely text (each check off when its threshold is null). */
function isSilence(d: DecodedSequence, checks: DecodeChecks): boolean {
  return checks.noSpeech !== null && d.noSpeechProb > checks.noSpeech && checks.logProb !== null && d.avgLogprob < checks.logProb;
}

function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
