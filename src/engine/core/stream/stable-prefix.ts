import { normalizeForWer } from '../../../../libs/text/wer';

/**
 * Partial results that do not flicker (local agreement, as in whisper_streaming): a word becomes stable once two
 * consecutive decodes of the growing utterance agree on it and on everything before it. Stable words are never
 * changed again within the utterance; only the words after them follow the latest decode.
 */
export class StablePrefix {
  private stable: string[] = [];
  /** Words of the previous decode after the stable ones. */
  private previousTail: string[] = [];

  /** The partial text for the latest decode of the utterance. */
  update(text: string): string {
    const words = text.split(/\s+/).filter((w) => w.length > 0);
    const tail = words.slice(this.stable.length);
    let agreed = 0;
    while (agreed < tail.length && agreed < this.previousTail.length && sameWord(tail[agreed], this.previousTail[agreed])) agreed++;
    this.stable.push(...tail.slice(0, agreed));
    this.previousTail = tail.slice(agreed);
    return [...this.stable, ...this.previousTail].join(' ');
  }

  /** Words no later partial of this utterance will change. */
  get stableText(): string {
    return this.stable.join(' ');
  }

  reset(): void {
    this.stable = [];
    this.previousTail = [];
  }
}

/** Case and punctuation do not count: a decode that adds a comma after a word still agrees on it. */
function sameWord(a: string, b: string): boolean {
  return normalizeForWer(a) === normalizeForWer(b);
}
