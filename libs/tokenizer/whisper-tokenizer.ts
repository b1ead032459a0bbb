import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AddedToken, ByteLevelBpe } from './byte-level-bpe';

export interface WhisperSpecialTokens {
  sot: number;
  eot: number;
  transcribe: number;
  translate: number;
  noTimestamps: number;
  /** `<|nospeech|>` in newer exports, `<|nocaptions|>` in older ones. */
  noSpeech: number;
  sotPrev: number;
  sotLm?: number;
  /** Id of `<|0.00|>`; timestamps follow in 0.02 s steps. */
  timestampBegin: number;
}

export interface WordTokens {
  word: string;
  tokens: number[];
}

/** Timestamps step by 0.02 s over the 30 s window. */
const TIMESTAMPS_PER_SECOND = 50;
const TIMESTAMP_STEPS = 30 * TIMESTAMPS_PER_SECOND;

/** Languages without spaces between words: word timestamps split them per code point. */
const UNSPACED_LANGUAGES = new Set(['zh', 'ja', 'th', 'lo', 'my', 'yue']);
/** Python's string.punctuation; a sub-word whose trimmed text is a substring of it starts a new word. */
const ASCII_PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** Whisper's names where they differ from ICU's English display name, plus openai-whisper's aliases. */
const LANGUAGE_NAME_EXTRAS: Record<string, string[]> = {
  bn: ['bengali'],
  ca: ['valencian'],
  es: ['castilian'],
  ht: ['haitian'],
  lb: ['letzeburgesch'],
  mi: ['maori'],
  my: ['myanmar', 'burmese'],
  nl: ['flemish'],
  nn: ['nynorsk'],
  pa: ['panjabi'],
  ps: ['pushto'],
  ro: ['moldavian', 'moldovan'],
  si: ['sinhalese'],
  tl: ['tagalog'],
  zh: ['mandarin'],
};

/** openai-whisper's non-speech symbols, used only when generation_config has no suppress_tokens. */
const NON_SPEECH_SYMBOLS = [...'"#()*+/:;<=>@[\\]^_`{|}~「」『』', ...'<< >> <<< >>> -- --- -( -[ (\' (" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪'.split(' ')];
/** U+2640..U+267F symbols share their first two UTF-8 bytes, so their first token is safe to suppress. */
const NON_SPEECH_MUSIC = [...'♩♪♫♬♭♮♯'];

type Json = Record<string, unknown>;

function asObject(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} must be an object`);
  return value as Json;
}

function asIdList(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v))) throw new Error(`${what} must be an integer array`);
  return value as number[];
}

function parseMerges(value: unknown): Array<string | [string, string]> {
  if (!Array.isArray(value)) throw new Error('tokenizer.json model.merges must be an array');
  return value.map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
    throw new Error(`tokenizer.json model.merges[${i}] is neither "a b" nor ["a", "b"]`);
  });
}

function parseAddedTokens(value: unknown): AddedToken[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error('tokenizer.json added_tokens must be an array');
  return value.map((t, i) => {
    const o = asObject(t, `added_tokens[${i}]`);
    if (!Number.isInteger(o.id) || typeof o.content !== 'string') throw new Error(`added_tokens[${i}] needs id and content`);
    return { id: o.id as number, content: o.content };
  });
}

function buildBpe(root: Json, addedTokens: AddedToken[]): ByteLevelBpe {
  const model = asObject(root.model, 'tokenizer.json model');
  if (model.type !== 'BPE') throw new Error(`Unsupported tokenizer model ${String(model.type)}; Whisper uses BPE`);
  const pre = asObject(root.pre_tokenizer, 'tokenizer.json pre_tokenizer');
  // The ByteLevel pre-tokenizer's regex is implicit: it is the GPT-2 pattern.
  if (pre.type !== 'ByteLevel' || pre.use_regex === false) {
    throw new Error(`Unsupported pre_tokenizer ${JSON.stringify(pre)}; expected ByteLevel with use_regex`);
  }
  return new ByteLevelBpe({
    vocab: asObject(model.vocab, 'tokenizer.json model.vocab') as Record<string, number>,
    merges: parseMerges(model.merges),
    addedTokens,
    addPrefixSpace: pre.add_prefix_space === true,
  });
}

/** English names of a language code: ICU's display name (when Node has ICU data for it) plus the extras. */
function languageNames(code: string, icu: Intl.DisplayNames): string[] {
  let name: string | undefined;
  try {
    name = icu.of(code)?.toLowerCase();
  } catch {
    name = undefined; // a code ICU rejects just has no display name
  }
  return [...(name ? [name] : []), ...(LANGUAGE_NAME_EXTRAS[code] ?? [])];
}

export class WhisperTokenizer {
  readonly special: WhisperSpecialTokens;
  readonly vocabSize: number;
  readonly languages: string[];

  private readonly bpe: ByteLevelBpe;
  private readonly generation: Json;
  private readonly languageIds = new Map<string, number>();
  private readonly languageById = new Map<number, string>();
  private readonly languageByName = new Map<string, string>();
  private readonly keepText = (id: number): boolean => id < this.special.eot;
  private readonly keepAll = (): boolean => true;

  private constructor(bpe: ByteLevelBpe, addedTokens: AddedToken[], generationConfig: Json) {
    this.bpe = bpe;
    this.generation = generationConfig;
    this.vocabSize = bpe.size;

    const idOf = new Map(addedTokens.map((t) => [t.content, t.id]));
    const required = (...contents: string[]): number => {
      for (const c of contents) {
        const id = idOf.get(c);
        if (id !== undefined) return id;
      }
      throw new Error(`Tokenizer has no ${contents.join(' / ')} token`);
    };
    const noTimestamps = required('<|notimestamps|>');
    const sot = required('<|startoftranscript|>');
    const translate = required('<|translate|>');
    this.special = {
      sot,
      eot: required('<|endoftext|>'),
      transcribe: required('<|transcribe|>'),
      translate,
      noTimestamps,
      noSpeech: required('<|nospeech|>', '<|nocaptions|>'),
      sotPrev: required('<|startofprev|>'),
      sotLm: idOf.get('<|startoflm|>'),
      // Exports without timestamp tokens still place them right after <|notimestamps|>.
      timestampBegin: idOf.get('<|0.00|>') ?? noTimestamps + 1,
    };

    // Language tokens are the <|xx|> block between <|startoftranscript|> and <|translate|>.
    const languageTokens = addedTokens
      .filter((t) => t.id > sot && t.id < translate)
      .map((t) => ({ id: t.id, code: /^<\|([a-z]+)\|>$/.exec(t.content)?.[1] }))
      .filter((t): t is { id: number; code: string } => t.code !== undefined)
      .sort((a, b) => a.id - b.id);
    this.languages = languageTokens.map((t) => t.code);
    const icu = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' });
    for (const { id, code } of languageTokens) {
      this.languageIds.set(code, id);
      this.languageById.set(id, code);
      for (const name of languageNames(code, icu)) {
        if (!this.languageByName.has(name)) this.languageByName.set(name, code);
      }
    }
  }

  /** Build from the parsed tokenizer.json and generation_config.json of a model folder (pure: caller reads files). */
  static fromJson(tokenizerJson: unknown, generationConfig: unknown): WhisperTokenizer {
    const generation = generationConfig === undefined || generationConfig === null ? {} : asObject(generationConfig, 'generation_config.json');
    const root = asObject(tokenizerJson, 'tokenizer.json');
    const addedTokens = parseAddedTokens(root.added_tokens);
    return new WhisperTokenizer(buildBpe(root, addedTokens), addedTokens, generation);
  }

  /** Convenience: reads <dir>/tokenizer.json + generation_config.json (the one place with fs). */
  static fromModelDir(dir: string): WhisperTokenizer {
    const read = (name: string): unknown => JSON.parse(readFileSync(join(dir, name), 'utf8'));
    return WhisperTokenizer.fromJson(read('tokenizer.json'), read('generation_config.json'));
  }

  /** Id of `<|code|>`; also accepts English names ('english', 'chinese', ...). Throws on unknown languages. */
  languageToken(code: string): number {
    const resolved = this.resolveLanguage(code);
    const id = resolved === undefined ? undefined : this.languageIds.get(resolved);
    if (id === undefined) throw new Error(`Unknown language "${code}"; expected one of ${this.languages.join(', ')}`);
    return id;
  }

  languageOf(tokenId: number): string | undefined {
    return this.languageById.get(tokenId);
  }

  isTimestamp(id: number): boolean {
    return id >= this.special.timestampBegin && id <= this.special.timestampBegin + TIMESTAMP_STEPS;
  }

  timestampSeconds(id: number): number {
    // Dividing (not multiplying by 0.02) gives the closest double, e.g. 0.72 rather than 0.7200000000000001.
    return (id - this.special.timestampBegin) / TIMESTAMPS_PER_SECOND;
  }

  /** Any added/special token (every id from <|endoftext|> on), timestamps included. */
  isSpecial(id: number): boolean {
    return id >= this.special.eot;
  }

  /** Byte-level BPE of plain text; special-token strings in the text are encoded as ordinary text. */
  encode(text: string): number[] {
    return this.bpe.encode(text);
  }

  /** Specials (incl. timestamps) are dropped unless keepSpecial; no HF "clean up tokenization spaces" pass. */
  decode(ids: ArrayLike<number>, opts?: { keepSpecial?: boolean }): string {
    return this.bpe.decode(ids, opts?.keepSpecial ? this.keepAll : this.keepText);
  }

  /**
   * Ids the decoder must never emit, as openai-whisper's `suppress_tokens="-1"`: the non-speech
   * symbols (generation_config.suppress_tokens, or computed like openai-whisper when absent) plus
   * transcribe, translate, sot, sotPrev, sotLm and noSpeech (its probability is read separately).
   * noTimestamps is not included: openai suppresses it only in timestamp mode, in its timestamp rules.
   */
  suppressTokens(): Int32Array {
    const configured = this.generation.suppress_tokens;
    const symbols = configured === undefined ? this.nonSpeechTokens() : asIdList(configured, 'suppress_tokens');
    const s = this.special;
    const all = new Set([...symbols, s.transcribe, s.translate, s.sot, s.sotPrev, s.noSpeech]);
    if (s.sotLm !== undefined) all.add(s.sotLm);
    return Int32Array.from([...all].sort((a, b) => a - b));
  }

  /** generation_config.begin_suppress_tokens; when absent, openai's default: the blank token and eot. */
  beginSuppressTokens(): Int32Array {
    const configured = this.generation.begin_suppress_tokens;
    const ids = configured === undefined ? [...this.encode(' '), this.special.eot] : asIdList(configured, 'begin_suppress_tokens');
    return Int32Array.from(ids);
  }

  /** generation_config.alignment_heads as [layer, head] pairs (for word timestamps); [] if absent. */
  alignmentHeads(): Array<[number, number]> {
    const heads = this.generation.alignment_heads;
    if (heads === undefined || heads === null) return [];
    if (!Array.isArray(heads)) throw new Error('alignment_heads must be an array');
    return heads.map((pair) => {
      const [layer, head] = asIdList(pair, 'alignment_heads entry');
      if (layer === undefined || head === undefined) throw new Error('alignment_heads entries must be [layer, head]');
      return [layer, head];
    });
  }

  /**
   * Groups tokens into words as openai-whisper does for word timestamps: first into the shortest
   * runs that decode to whole code points; for languages written without spaces those are the words,
   * otherwise a run joins the previous word unless it starts with a space, is punctuation or is special.
   */
  splitToWordTokens(tokens: number[], language: string): WordTokens[] {
    const pieces = this.splitOnCodePoints(tokens);
    if (UNSPACED_LANGUAGES.has(this.resolveLanguage(language) ?? language)) return pieces;

    const words: WordTokens[] = [];
    for (const piece of pieces) {
      const last = words[words.length - 1];
      const startsWord = last === undefined || this.isSpecial(piece.tokens[0]) || piece.word.startsWith(' ') || ASCII_PUNCTUATION.includes(piece.word.trim());
      if (startsWord) {
        words.push(piece);
      } else {
        last.word += piece.word;
        last.tokens.push(...piece.tokens);
      }
    }
    return words;
  }

  private splitOnCodePoints(tokens: number[]): WordTokens[] {
    const full = this.decode(tokens, { keepSpecial: true });
    const pieces: WordTokens[] = [];
    let current: number[] = [];
    let offset = 0;
    for (const token of tokens) {
      current.push(token);
      const text = this.decode(current, { keepSpecial: true });
      const bad = text.indexOf('\uFFFD');
      // A U+FFFD that the full decode also has is genuine, not a code point cut in half.
      if (bad < 0 || full[offset + bad] === '\uFFFD') {
        pieces.push({ word: text, tokens: current });
        current = [];
        offset += text.length;
      }
    }
    return pieces;
  }

  private nonSpeechTokens(): number[] {
    // Hyphens and apostrophes stay allowed inside words, only their word-initial forms are suppressed.
    const ids = new Set([this.encode(' -')[0], this.encode(" '")[0]]);
    for (const symbol of NON_SPEECH_SYMBOLS) {
      for (const encoded of [this.encode(symbol), this.encode(' ' + symbol)]) {
        if (encoded.length === 1) ids.add(encoded[0]);
      }
    }
    for (const symbol of NON_SPEECH_MUSIC) {
      for (const encoded of [this.encode(symbol), this.encode(' ' + symbol)]) ids.add(encoded[0]);
    }
    return [...ids];
  }

  private resolveLanguage(codeOrName: string): string | undefined {
    const key = codeOrName.trim().toLowerCase();
    return this.languageIds.has(key) ? key : this.languageByName.get(key);
  }
}
