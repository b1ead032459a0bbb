/** Seconds per timestamp token. */
export const TIMESTAMP_STEP_S = 0.02;

/** Text tokens between two timestamps of one window; times relative to the window start. */
export interface TokenPiece {
  start: number;
  end: number;
  tokens: number[];
  /** Index of the piece's first token among the window's text tokens. */
  firstText: number;
}

/**
 * Splits a window's decoded tokens at its timestamp tokens: `<|a|> text <|b|>` is a piece from a to b. Text
 * before any timestamp starts where the last piece ended (or at 0); text after the last timestamp runs to the
 * end of the window's audio. Times are clamped to the window.
 */
export function splitAtTimestamps(tokens: ArrayLike<number>, timestampBegin: number, windowSeconds: number): TokenPiece[] {
  const pieces: TokenPiece[] = [];
  let current: Omit<TokenPiece, 'end'> | null = null;
  let lastTime = 0;
  let textIndex = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t >= timestampBegin) {
      const time = Math.min((t - timestampBegin) * TIMESTAMP_STEP_S, windowSeconds);
      if (current?.tokens.length) {
        pieces.push({ ...current, end: Math.max(time, current.start) });
        current = null;
      } else {
        current = { start: time, tokens: [], firstText: textIndex };
      }
      lastTime = time;
    } else {
      current ??= { start: lastTime, tokens: [], firstText: textIndex };
      current.tokens.push(t);
      textIndex++;
    }
  }
  if (current?.tokens.length) pieces.push({ ...current, end: Math.max(windowSeconds, current.start) });
  return pieces;
}
