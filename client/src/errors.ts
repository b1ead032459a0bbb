import type { Job } from '../../libs/contracts/process.js';

/** Any failure the SDK reports; `code` is the server's error code, or one of the SDK's own below. */
export class EarshotError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The server answered with an error status: `status` and `code` as in the API's `{"error":{"code","message"}}`. */
export class EarshotApiError extends EarshotError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    /** Seconds the server asked to wait (429/503 `Retry-After`), if it said. */
    readonly retryAfterS: number | null = null,
  ) {
    super(code, message);
  }
}

/** One attempt took longer than the client's `timeoutMs` (code `timeout`). */
export class EarshotTimeoutError extends EarshotError {
  constructor(timeoutMs: number) {
    super('timeout', `no answer within ${timeoutMs} ms`);
  }
}

/** The server could not be reached, or the connection broke (code `connection_error`). */
export class EarshotConnectionError extends EarshotError {
  constructor(cause: unknown) {
    super('connection_error', `cannot reach the Earshot server: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** A job that ended `failed` or `cancelled`; `code` is the job's error code, or `job_cancelled`. */
export class EarshotJobError extends EarshotError {
  constructor(readonly job: Job) {
    super(job.error?.code ?? `job_${job.status}`, job.error?.message ?? `job ${job.job_id} ended ${job.status}`);
  }
}
