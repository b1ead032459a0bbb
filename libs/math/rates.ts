/** `amount` per second over `elapsedMs`; 0 for an empty interval. */
export function perSecond(amount: number, elapsedMs: number): number {
  return elapsedMs > 0 ? amount / (elapsedMs / 1000) : 0;
}

/**
 * Process CPU use in percent of one core over `elapsedMs`, from the growth of `process.cpuUsage()` (user + system
 * microseconds, all threads): 100 is one core busy, up to 100 × cores.
 */
export function cpuPercent(usage: { user: number; system: number }, elapsedMs: number): number {
  return elapsedMs > 0 ? ((usage.user + usage.system) / 1000 / elapsedMs) * 100 : 0;
}

/** Mean of a sum over a count; null when nothing was counted. */
export function meanOf(sum: number, count: number): number | null {
  return count > 0 ? sum / count : null;
}
