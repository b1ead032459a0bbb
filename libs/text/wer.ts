/** Word and character error counts for scoring transcripts against references. */

/** Typographic apostrophes that stand for ' inside words (don’t, o‘clock). */
const APOSTROPHES = /[\u2018\u2019\u02bc]/g;
const DASHES = /\p{Pd}/gu;
const NOT_WORD_CHAR = /[^\p{L}\p{M}\p{N}'\s]/gu;
/** An apostrophe not between two letters or digits: quotes and possessive endings ('tis, students'). */
const OUTER_APOSTROPHE = /(?<![\p{L}\p{M}\p{N}])'|'(?![\p{L}\p{M}\p{N}])/gu;

/**
 * Text reduced to what WER should compare: NFKC, lower case, dashes as spaces, every character other than
 * letters (with their combining marks), digits and whitespace replaced by a space, single spaces.
 * Apostrophes are kept inside words only, so "don't" ≠ "dont" but quoted 'words' lose their quotes.
 * Numbers are not spelled out: "3" and "three" differ.
 */
export function normalizeForWer(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(APOSTROPHES, "'")
    .replace(DASHES, ' ')
    .replace(NOT_WORD_CHAR, ' ')
    .replace(OUTER_APOSTROPHE, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Substitutions + insertions + deletions turning `ref` into `hyp`, two rows of the DP table at a time. */
function editDistance(ref: Int32Array, hyp: Int32Array): number {
  let prev = new Uint32Array(hyp.length + 1);
  let curr = new Uint32Array(hyp.length + 1);
  for (let j = 0; j <= hyp.length; j++) prev[j] = j;
  for (let i = 1; i <= ref.length; i++) {
    curr[0] = i;
    const r = ref[i - 1];
    for (let j = 1; j <= hyp.length; j++) {
      const sub = prev[j - 1] + (r === hyp[j - 1] ? 0 : 1);
      curr[j] = Math.min(sub, prev[j] + 1, curr[j - 1] + 1);
    }
    [prev, curr] = [curr, prev];
  }
  return prev[hyp.length];
}

function words(text: string): string[] {
  const normalized = normalizeForWer(text);
  return normalized ? normalized.split(' ') : [];
}

/** Word-level edits between normalized texts; WER is the sum of `edits` over the sum of `words` (reference words). */
export function wordErrors(reference: string, hypothesis: string): { edits: number; words: number } {
  const ref = words(reference);
  const hyp = words(hypothesis);
  const ids = new Map<string, number>();
  const encode = (tokens: string[]): Int32Array =>
    Int32Array.from(tokens, (t) => {
      let id = ids.get(t);
      if (id === undefined) ids.set(t, (id = ids.size));
      return id;
    });
  return { edits: editDistance(encode(ref), encode(hyp)), words: ref.length };
}

function codePoints(text: string): Int32Array {
  return Int32Array.from(normalizeForWer(text).replace(/ /g, ''), (c) => c.codePointAt(0) ?? 0);
}

/** Character-level edits between normalized texts with spaces removed (CER, for zh/ja and other unspaced scripts). */
export function characterErrors(reference: string, hypothesis: string): { edits: number; characters: number } {
  const ref = codePoints(reference);
  return { edits: editDistance(ref, codePoints(hypothesis)), characters: ref.length };
}
