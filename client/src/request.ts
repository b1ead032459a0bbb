import { setTimeout as sleep } from 'node:timers/promises';
import { EarshotApiError, EarshotConnectionError, EarshotTimeoutError } from './errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt, on 429 and 503 only. */
  maxRetries: number;
  /** First backoff; doubled each retry, with full jitter. */
  baseDelayMs: number;
  /** No wait is longer than this, whatever Retry-After says. */
  maxDelayMs: number;
}

export interface SendOptions {
  /** Per attempt. */
  timeoutMs: number;
  signal?: AbortSignal;
  retry: RetryPolicy;
  /** A body that can be sent only once (a stream) is never retried. */
  replayable: boolean;
}

const RETRY_STATUSES = new Set([429, 503]);

/** Seconds to wait from a Retry-After header: delta-seconds or an HTTP date. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === '') return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, (date - now) / 1000);
}

/** The wait before retry number `retry` (0-based): Retry-After when the server gave one, else exponential backoff. */
export function retryDelayMs(retry: number, retryAfterS: number | null, policy: RetryPolicy, random = Math.random): number {
  const delay = retryAfterS !== null ? retryAfterS * 1000 : random() * policy.baseDelayMs * 2 ** retry;
  return Math.min(policy.maxDelayMs, delay);
}

/** The error of a non-2xx answer: the API's error body when there is one, the status line otherwise. */
function apiError(answer: { status: number; headers: Headers; body: string }): EarshotApiError {
  const retryAfterS = parseRetryAfter(answer.headers.get('retry-after'));
  try {
    const { error } = JSON.parse(answer.body) as { error: { code: string; message: string } };
    if (typeof error?.code === 'string') return new EarshotApiError(answer.status, error.code, error.message, retryAfterS);
  } catch {
    // not the API's JSON: a proxy's error page, for instance
  }
  return new EarshotApiError(answer.status, `http_${answer.status}`, answer.body.slice(0, 200), retryAfterS);
}

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * fetch with the SDK's rules: a timeout per attempt (the body read included), the caller's AbortSignal, retries with
 * backoff on 429/503 honouring Retry-After, and typed errors. `makeInit` is called once per attempt (a fresh body).
 */
export async function send(url: string, makeInit: () => RequestInit, options: SendOptions): Promise<Answer> {
  for (let retry = 0; ; retry++) {
    options.signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let answer: Answer;
    try {
      const res = await fetch(url, { ...makeInit(), signal });
      answer = { status: res.status, headers: res.headers, body: await res.text() };
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (timeout.aborted) throw new EarshotTimeoutError(options.timeoutMs);
      throw new EarshotConnectionError(err);
    }
    if (answer.status < 400) return answer;
    const error = apiError(answer);
    if (!RETRY_STATUSES.has(answer.status) || retry >= options.retry.maxRetries || !options.replayable) throw error;
    try {
      await sleep(retryDelayMs(retry, error.retryAfterS, options.retry), undefined, { signal: options.signal });
    } catch {
      throw options.signal!.reason;
    }
  }
}
