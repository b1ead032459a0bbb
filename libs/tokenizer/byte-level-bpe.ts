/**
 * GPT-2 style byte-level BPE, driven by the `model` section of a Hugging Face tokenizer.json.
 * Text is UTF-8 encoded, each byte is mapped to a printable character, pre-tokenized with the
 * GPT-2 regex and merged by rank; decoding maps the characters back to bytes.
 */

const GPT2_PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Bounds memory in a long-running service; words are re-merged after a reset. */
const MAX_CACHED_WORDS = 20_000;

/**
 * GPT-2's reversible byte -> character table: printable Latin-1 bytes stand for themselves,
 * the others take U+0100 upwards in byte order, so no token ever contains a real space.
 */
function byteToCharTable(): string[] {
  const table: string[] = [];
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table.push(String.fromCharCode(printable ? b : next++));
  }
  return table;
}

export interface AddedToken {
  id: number;
  content: string;
}

export interface ByteLevelBpeConfig {
  vocab: Record<string, number>;
  /** "a b" strings (older tokenizer.json) or ["a", "b"] pairs (newer). */
  merges: Array<string | [string, string]>;
  addedTokens: AddedToken[];
  addPrefixSpace: boolean;
}

export class ByteLevelBpe {
  /** Number of ids: one past the largest id of the vocab and the added tokens. */
  readonly size: number;
  private readonly vocab: Map<string, number>;
  private readonly ranks = new Map<string, number>();
  private readonly byteChars = byteToCharTable();
  /** UTF-8 bytes of every id, so decoding is a copy and one TextDecoder call. */
  private readonly idBytes: Uint8Array[];
  private readonly cache = new Map<string, number[]>();
  private readonly addPrefixSpace: boolean;
  private readonly utf8 = new TextEncoder();
  private readonly text = new TextDecoder('utf-8');

  constructor(config: ByteLevelBpeConfig) {
    this.addPrefixSpace = config.addPrefixSpace;
    this.vocab = new Map(Object.entries(config.vocab));
    config.merges.forEach((merge, rank) => {
      // Byte-level symbols never contain ' ', so "a b" is an unambiguous key.
      this.ranks.set(typeof merge === 'string' ? merge : `${merge[0]} ${merge[1]}`, rank);
    });

    let size = 0;
    for (const id of this.vocab.values()) size = Math.max(size, id + 1);
    for (const t of config.addedTokens) size = Math.max(size, t.id + 1);
    this.size = size;

    const charToByte = new Map<string, number>();
    this.byteChars.forEach((ch, b) => charToByte.set(ch, b));
    this.idBytes = new Array<Uint8Array>(size).fill(new Uint8Array(0));
    const present = new Uint8Array(size);
    for (const [token, id] of this.vocab) {
      const bytes = new Uint8Array(token.length);
      for (let i = 0; i < token.length; i++) {
        const b = charToByte.get(token[i]);
        if (b === undefined) throw new Error(`Token ${JSON.stringify(token)} is not byte-level encoded`);
        bytes[i] = b;
      }
      this.idBytes[id] = bytes;
      present[id] = 1;
    }
    // Added tokens are emitted verbatim, not through the byte map.
    for (const t of config.addedTokens) {
      this.idBytes[t.id] = this.utf8.encode(t.content);
      present[t.id] = 1;
    }
    const hole = present.indexOf(0);
    if (hole >= 0) throw new Error(`Tokenizer has no token for id ${hole}`);
  }

  /** Token ids of plain text; added/special tokens written in the text are not recognised. */
  encode(text: string): number[] {
    const input = this.addPrefixSpace && !text.startsWith(' ') ? ' ' + text : text;
    const ids: number[] = [];
    for (const match of input.matchAll(GPT2_PRETOKENIZE)) {
      for (const id of this.encodeWord(match[0])) ids.push(id);
    }
    return ids;
  }

  /** Decodes the ids accepted by `keep` as one UTF-8 byte string (invalid sequences become U+FFFD). */
  decode(ids: ArrayLike<number>, keep: (id: number) => boolean): string {
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.size) throw new RangeError(`Token id ${id} out of range`);
      if (keep(id)) length += this.idBytes[id].length;
    }
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (let i = 0; i < ids.length; i++) {
      if (!keep(ids[i])) continue;
      const chunk = this.idBytes[ids[i]];
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return this.text.decode(bytes);
  }

  private encodeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;

    let symbols = Array.from(this.utf8.encode(word), (b) => this.byteChars[b]);
    while (symbols.length > 1) {
      let bestRank = Infinity;
      let best = -1;
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      // Merging every non-overlapping occurrence left to right equals merging them one at a time.
      const [left, right] = [symbols[best], symbols[best + 1]];
      const merged: string[] = symbols.slice(0, best);
      for (let i = best; i < symbols.length; i++) {
        if (i < symbols.length - 1 && symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else {
          merged.push(symbols[i]);
        }
      }
      symbols = merged;
    }

    const ids = symbols.map((s) => {
      const id = this.vocab.get(s);
      if (id === undefined) throw new Error(`BPE symbol ${JSON.stringify(s)} is missing from the vocab`);
      return id;
    });
    if (this.cache.size >= MAX_CACHED_WORDS) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }
}
