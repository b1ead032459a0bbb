import { ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { ErrorBody } from '../../../libs/contracts/process';
import { EarshotError, type ErrorCode } from '../../contract/errors';
import type { Metrics } from '../infra/metrics/metrics';

const STATUS_OF: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_settings: 422,
  unsupported_audio: 415,
  audio_too_large: 413,
  audio_too_long: 413,
  model_not_found: 404,
  job_not_found: 404,
  job_conflict: 409,
  speaker_not_found: 404,
  speaker_conflict: 409,
  enrolment_rejected: 422,
  task_not_available: 422,
  not_ready: 503,
  overloaded: 503,
  timeout: 503,
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
  url_not_allowed: 400,
  internal: 500,
};

const CODE_OF_STATUS: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'audio_too_large',
  415: 'unsupported_media_type',
  422: 'invalid_settings',
  429: 'rate_limited',
  503: 'not_ready',
};

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Status and body for anything thrown: Earshot errors, Nest HTTP errors, Fastify/plugin errors, the rest. */
export function describeError(err: unknown): { status: number; body: ErrorBody; retryAfterS?: number } {
  if (err instanceof EarshotError) return { status: STATUS_OF[err.code], body: errorBody(err.code, err.message), retryAfterS: err.retryAfterS };
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const response = err.getResponse();
    const message = typeof response === 'object' && response !== null && 'message' in response ? [response.message].flat().join('; ') : err.message;
    return { status, body: errorBody(CODE_OF_STATUS[status] ?? 'error', message) };
  }
  // Fastify and its plugins (body limits, multipart) put an HTTP status on their errors.
  const statusCode = (err as { statusCode?: number }).statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { status: statusCode, body: errorBody(CODE_OF_STATUS[statusCode] ?? 'invalid_request', (err as Error).message) };
  }
  return { status: HttpStatus.INTERNAL_SERVER_ERROR, body: errorBody('internal', 'internal error') };
}

const logger = new Logger('Errors');

/**
 * The one way an HTTP error answer is sent: its status, `Retry-After` when the error carries one, and the JSON body
 * (`shape` turns Earshot's body into another API's, e.g. OpenAI's). Unexpected failures (5xx other than 503) are
 * logged with their stack; every answer is counted by code.
 */
export function replyWithError(
  reply: FastifyReply,
  err: unknown,
  metrics: Metrics,
  shape: (body: ErrorBody, status: number) => object = (body) => body,
): FastifyReply {
  const { status, body, retryAfterS } = describeError(err);
  if (status >= 500 && status !== 503) logger.error((err as Error)?.stack ?? String(err));
  if (reply.sent) return reply;
  metrics.errorSent(body.error.code);
  if (retryAfterS !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterS))));
  return reply.status(status).header('content-type', 'application/json; charset=utf-8').send(shape(body, status));
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly metrics: Metrics) {}

  catch(err: unknown, host: ArgumentsHost): void {
    replyWithError(host.switchToHttp().getResponse<FastifyReply>(), err, this.metrics);
  }
}
