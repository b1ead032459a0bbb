import { ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Metrics } from '../../infra/metrics/metrics';
import { replyWithError } from '../errors';

/** OpenAI's error body: Earshot's code and message, with OpenAI's error type for the status. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

function errorType(status: number): string {
  if (status === 401 || status === 403) return 'authentication_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** Errors on the /v1/audio/* routes, in the shape OpenAI clients parse. */
@Catch()
export class OpenAIErrorFilter implements ExceptionFilter {
  constructor(private readonly metrics: Metrics) {}

  catch(err: unknown, host: ArgumentsHost): void {
    replyWithError(host.switchToHttp().getResponse<FastifyReply>(), err, this.metrics, (body, status): OpenAIErrorBody => ({
      error: { message: body.error.message, type: errorType(status), param: null, code: body.error.code },
    }));
  }
}
