/**
 * Errors that core raises for the caller to report. Each has a stable machine code; the API layer maps codes to
 * HTTP statuses. Codes survive the trip from the inference worker, so they are the contract, not the classes.
 */
export const ERROR_CODES = {
  invalid_request: 'malformed request or settings',
  invalid_settings: 'valid JSON but impossible settings',
  unsupported_audio: 'audio that cannot be decoded',
  audio_too_large: 'upload over the size limit',
  audio_too_long: 'audio over the duration limit',
  model_not_found: 'unknown model',
  job_not_found: 'unknown job',
  job_conflict: 'the job is not in a state that allows this',
  speaker_not_found: 'unknown enrolled speaker',
  speaker_conflict: 'an enrolled speaker of that name exists',
  enrolment_rejected: 'enrolment audio without one clear voice',
  task_not_available: 'task not available yet',
  not_ready: 'service not ready',
  overloaded: 'service overloaded',
  timeout: 'request took longer than its time limit',
  unauthorized: 'missing or invalid API key',
  forbidden: 'API key lacks the scope',
  rate_limited: 'over a rate limit',
  url_not_allowed: 'audio_url refused by the address policy',
  internal: 'unexpected failure',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class EarshotError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Seconds after which retrying may succeed (sent as Retry-After with 429 and 503). */
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'EarshotError';
  }
}
