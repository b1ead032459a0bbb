import type { WhisperTokenizer } from '../../../../libs/tokenizer/whisper-tokenizer';
import { argMax, logSumExp, sampleIndex, topK } from './logits';
import { TIMESTAMP_STEP_S } from './segments';
import type { EncodedAudio, WhisperModel } from './whisper-model';

/** The first timestamp may be at most 1 s into the window (openai-whisper's max_initial_timestamp). */
const MAX_INITIAL_TIMESTAMP_INDEX = 50;

export interface DecodeOptions {
  task: 'transcribe' | 'translate';
  beamSize: number;
  /** 0 decodes greedily (or with beams); above 0 samples. */
  temperature: number;
  /** Encoded initial prompt, placed after <|startofprev|>. */
  promptTokens: number[];
  /** The random source of each audio row (sampling): rows of different requests draw from their own. */
  random: ReadonlyArray<() => number>;
  /** Beam search ends once beamSize × patience hypotheses have finished (openai-whisper's patience). */
  patience: number;
  /** Decode after <|notimestamps|>: text only, no timestamp tokens. */
  withoutTimestamps: boolean;
  /** Most tokens to generate; null: half the model's context. */
  maxNewTokens: number | null;
  /** Asked before every step: true stops the decode with DecodeInterrupted (a partial giving way to a final). */
  interrupt?: () => Promise<boolean>;
}

/** The decode was stopped by its `interrupt`; it has no result. */
export class DecodeInterrupted extends Error {
  constructor() {
    super('decode interrupted');
  }
}

export interface DecodedSequence {
  /** Generated tokens: text and timestamps, no sot sequence, no eot. */
  tokens: number[];
  /** Log-probability of each generated token, same order as tokens. */
  tokenLogprobs: number[];
  /** Sum over the tokens and the eot, divided by their count (openai-whisper's avg_logprob). */
  avgLogprob: number;
  noSpeechProb: number;
  temperature: number;
}

export interface LanguageScores {
  /** Probability per language code at the <|startoftranscript|> position, one record per row. */
  probs: Array<Record<string, number>>;
}

interface Hypothesis {
  tokens: number[];
  logprobs: number[];
  sum: number;
}

interface Group {
  /** Index of the audio row this group decodes. */
  row: number;
  alive: Hypothesis[];
  finished: Hypothesis[];
  /** Highest timestamp index allowed: the audio inside the window ends there. */
  maxTimestamp: number;
}

/**
 * Batched Whisper decoding of several windows at once. One decoder row per hypothesis; rows of finished windows
 * leave the batch so later steps only pay for live ones.
 */
export class WhisperDecoder {
  private readonly suppress: Int32Array;
  private readonly beginSuppress: Int32Array;
  private readonly languageIds: number[];

  constructor(
    private readonly model: WhisperModel,
    private readonly tokenizer: WhisperTokenizer,
  ) {
    this.suppress = tokenizer.suppressTokens();
    this.beginSuppress = tokenizer.beginSuppressTokens();
    this.languageIds = tokenizer.languages.map((code) => tokenizer.languageToken(code));
  }

  /** Language probabilities of each encoded window (one decoder pass over <|startoftranscript|>). */
  async detectLanguage(audio: EncodedAudio): Promise<LanguageScores> {
    const out = await this.model.start(audio, new Int32Array(audio.batch).fill(this.tokenizer.special.sot), 1);
    return { probs: this.languageProbs(out.logits, audio.batch) };
  }

  /**
   * Decodes every row of `audio`. `languages[i]` is the language of row i; `durations[i]` is how many seconds of
   * real audio window i holds (timestamps beyond it are not allowed).
   */
  async decode(audio: EncodedAudio, languages: string[], durations: number[], opts: DecodeOptions): Promise<DecodedSequence[]> {
    const { special } = this.tokenizer;
    const rows = audio.batch;
    const vocab = this.model.config.vocabSize;
    const maxPrompt = Math.floor(this.model.config.maxTargetPositions / 2) - 1;
    const prompt = opts.promptTokens.length ? [special.sotPrev, ...opts.promptTokens.slice(-maxPrompt)] : [];
    const prefix = [...prompt, special.sot];
    const startTokens = new Int32Array(rows * prefix.length);
    for (let r = 0; r < rows; r++) startTokens.set(prefix, r * prefix.length);

    const first = await this.model.start(audio, startTokens, prefix.length);
    const noSpeech = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const row = first.logits.subarray(r * vocab, (r + 1) * vocab);
      noSpeech[r] = Math.exp(row[special.noSpeech] - logSumExp(row));
    }
    // The rest of the sot sequence (language, task) is forced one token at a time through the cached branch;
    // English-only models have none.
    let out = first;
    if (this.tokenizer.languages.length) {
      const task = opts.task === 'translate' ? special.translate : special.transcribe;
      out = await this.model.step(
        out.state,
        Int32Array.from(languages, (l) => this.tokenizer.languageToken(l)),
      );
      out = await this.model.step(out.state, new Int32Array(rows).fill(task));
    }
    if (opts.withoutTimestamps) out = await this.model.step(out.state, new Int32Array(rows).fill(special.noTimestamps));

    const width = opts.temperature > 0 ? 1 : Math.max(1, opts.beamSize);
    const maxFinished = Math.max(1, Math.round(width * opts.patience));
    const groups: Group[] = [];
    for (let r = 0; r < rows; r++) {
      groups.push({
        row: r,
        alive: Array.from({ length: width }, () => ({ tokens: [], logprobs: [], sum: 0 })),
        finished: [],
        maxTimestamp: Math.min(1500, Math.round(durations[r] / TIMESTAMP_STEP_S)),
      });
    }
    // Rows of the decoder state: group-major, `width` hypotheses each.
    let state = this.model.selectRows(out.state, rowsRepeated(rows, width));
    let logits = repeatRows(out.logits, vocab, width);

    const maxNew = Math.min(
      opts.maxNewTokens ?? Infinity,
      Math.floor(this.model.config.maxTargetPositions / 2),
      this.model.config.maxTargetPositions - state.length - 1,
    );
    // Slot s of the decoder state holds hypothesis (s % width) of slotGroup[s].
    let slotGroup = groups.flatMap((g) => Array<Group>(width).fill(g));
    const finished = new Set<Group>();
    for (let step = 0; step < maxNew && finished.size < groups.length; step++) {
      if (opts.interrupt && (await opts.interrupt())) throw new DecodeInterrupted();
      const slots = slotGroup.length;
      const parents = Int32Array.from({ length: slots }, (_, i) => i);
      const nextTokens = new Int32Array(slots).fill(special.eot);
      for (let base = 0; base < slots; base += width) {
        const g = slotGroup[base];
        if (finished.has(g)) continue;
        const candidates: Array<{ parent: number; token: number; logprob: number; hyp: Hypothesis }> = [];
        g.alive.forEach((hyp, h) => {
          const row = logits.subarray((base + h) * vocab, (base + h + 1) * vocab);
          const norm = opts.withoutTimestamps ? this.applyTextRules(row, hyp.tokens) : this.applyRules(row, hyp.tokens, g.maxTimestamp);
          if (opts.temperature > 0 || width === 1) {
            const token = opts.temperature > 0 ? sampleIndex(row, opts.temperature, opts.random[g.row]) : argMax(row);
            candidates.push({ parent: base + h, token, logprob: row[token] - norm, hyp });
          } else {
            for (const token of topK(row, width + 1)) candidates.push({ parent: base + h, token, logprob: row[token] - norm, hyp });
          }
        });
        candidates.sort((x, y) => y.hyp.sum + y.logprob - (x.hyp.sum + x.logprob));
        const nextAlive: Hypothesis[] = [];
        const nextParents: number[] = [];
        for (const c of candidates) {
          const hyp = { tokens: [...c.hyp.tokens, c.token], logprobs: [...c.hyp.logprobs, c.logprob], sum: c.hyp.sum + c.logprob };
          if (c.token === special.eot) {
            if (g.finished.length < maxFinished) g.finished.push(hyp);
          } else if (nextAlive.length < width) {
            nextAlive.push(hyp);
            nextParents.push(c.parent);
          }
          if (nextAlive.length === width) break;
        }
        if (g.finished.length >= maxFinished || nextAlive.length === 0) {
          finished.add(g);
          continue;
        }
        g.alive = nextAlive;
        nextAlive.forEach((hyp, j) => {
          parents[base + j] = nextParents[j];
          nextTokens[base + j] = hyp.tokens[hyp.tokens.length - 1];
        });
      }
      if (finished.size === groups.length) break;
      const keep = compactedSlots(
        slotGroup.map((g) => !finished.has(g)),
        width,
      );
      if (keep.length < slots) {
        // Windows that finished leave the batch: the last live windows move into their rows.
        state = this.model.selectRows(this.model.reorderRows(state, parents), keep);
        out = await this.model.step(
          state,
          Int32Array.from(keep, (i) => nextTokens[i]),
        );
        slotGroup = keep.map((i) => slotGroup[i]);
      } else {
        out = await this.model.step(this.model.reorderRows(state, parents), nextTokens);
      }
      state = out.state;
      logits = out.logits;
    }
    for (const g of groups) if (!finished.has(g)) g.finished.push(...g.alive);

    return groups.map((g) => {
      // openai-whisper ranks finished beams by mean log-probability (no length penalty).
      const best = g.finished.reduce((a, b) => (b.sum / b.tokens.length > a.sum / a.tokens.length ? b : a));
      const ended = best.tokens[best.tokens.length - 1] === special.eot;
      const tokens = ended ? best.tokens.slice(0, -1) : best.tokens;
      return {
        tokens,
        tokenLogprobs: best.logprobs.slice(0, tokens.length),
        avgLogprob: best.sum / (tokens.length + 1),
        noSpeechProb: noSpeech[g.row],
        temperature: opts.temperature,
      };
    });
  }

  /** Decoding without timestamps: suppressed tokens, and no timestamp at all; returns the row's log-normaliser. */
  private applyTextRules(row: Float32Array, generated: number[]): number {
    for (let i = 0; i < this.suppress.length; i++) row[this.suppress[i]] = -Infinity;
    if (generated.length === 0) for (let i = 0; i < this.beginSuppress.length; i++) row[this.beginSuppress[i]] = -Infinity;
    row[this.tokenizer.special.noTimestamps] = -Infinity;
    row.fill(-Infinity, this.tokenizer.special.timestampBegin);
    return logSumExp(row);
  }

  /**
   * Suppressed tokens and openai-whisper's timestamp rules, applied in place to one row of logits; returns the
   * row's log-normaliser (logsumexp) after them.
   */
  private applyRules(row: Float32Array, generated: number[], maxTimestamp: number): number {
    const { special } = this.tokenizer;
    const tsBegin = special.timestampBegin;
    for (let i = 0; i < this.suppress.length; i++) row[this.suppress[i]] = -Infinity;
    row[special.noTimestamps] = -Infinity;
    const n = generated.length;
    if (n === 0) {
      for (let i = 0; i < this.beginSuppress.length; i++) row[this.beginSuppress[i]] = -Infinity;
      // The first token is a timestamp, early in the window.
      row.fill(-Infinity, 0, tsBegin);
      row.fill(-Infinity, tsBegin + Math.min(MAX_INITIAL_TIMESTAMP_INDEX, maxTimestamp) + 1);
      return logSumExp(row);
    }
    const last = generated[n - 1];
    const lastIsTs = last >= tsBegin;
    const penultimateIsTs = n < 2 || generated[n - 2] >= tsBegin;
    if (lastIsTs) {
      if (penultimateIsTs) row.fill(-Infinity, tsBegin);
      else row.fill(-Infinity, 0, special.eot);
    }
    // Timestamps never go back, never past the end of the audio in the window.
    let lastTs = -1;
    for (let i = n - 1; i >= 0; i--) {
      if (generated[i] >= tsBegin) {
        lastTs = generated[i];
        break;
      }
    }
    if (lastTs >= 0) {
      const floor = lastIsTs && !penultimateIsTs ? lastTs : lastTs + 1;
      row.fill(-Infinity, tsBegin, Math.min(floor, row.length));
    }
    row.fill(-Infinity, Math.min(row.length, tsBegin + maxTimestamp + 1));
    // When timestamps together are likelier than any text token, a timestamp it is.
    const textNorm = logSumExp(row, 0, tsBegin);
    const tsNorm = logSumExp(row, tsBegin);
    const norm = Math.max(textNorm, tsNorm) + Math.log1p(Math.exp(-Math.abs(textNorm - tsNorm)));
    if (tsNorm > row[argMax(row, 0, tsBegin)]) {
      row.fill(-Infinity, 0, tsBegin);
      return tsNorm;
    }
    return norm;
  }

  private languageProbs(logits: Float32Array, rows: number): Array<Record<string, number>> {
    const vocab = this.model.config.vocabSize;
    const codes = this.tokenizer.languages;
    const result: Array<Record<string, number>> = [];
    const scores = new Float32Array(this.languageIds.length);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < this.languageIds.length; i++) scores[i] = logits[r * vocab + this.languageIds[i]];
      const norm = logSumExp(scores);
      const probs: Record<string, number> = {};
      for (let i = 0; i < codes.length; i++) probs[codes[i]] = Math.exp(scores[i] - norm);
      result.push(probs);
    }
    return result;
  }
}

/**
 * Slots to keep when whole groups of `width` slots die: live groups already in front stay put, live groups behind
 * fill the dead groups' places, so the model moves as few rows as possible.
 */
export function compactedSlots(alive: boolean[], width: number): number[] {
  const groups = alive.length / width;
  const live = Array.from({ length: groups }, (_, g) => g).filter((g) => alive[g * width]);
  const front = live.length;
  const movers = live.filter((g) => g >= front);
  const order = Array.from({ length: front }, (_, g) => (alive[g * width] ? g : movers.shift()!));
  return order.flatMap((g) => Array.from({ length: width }, (_, h) => g * width + h));
}

function rowsRepeated(rows: number, times: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) for (let t = 0; t < times; t++) out.push(r);
  return out;
}

function repeatRows(logits: Float32Array, vocab: number, times: number): Float32Array {
  if (times === 1) return logits;
  const rows = logits.length / vocab;
  const out = new Float32Array(rows * times * vocab);
  for (let r = 0; r < rows; r++) {
    const src = logits.subarray(r * vocab, (r + 1) * vocab);
    for (let t = 0; t < times; t++) out.set(src, (r * times + t) * vocab);
  }
  return out;
}
