import { ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Metrics } from '../../infra/metrics/metrics';
import { describeError } from '../errors';

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
  private readonly logger = new Logger('Errors');

  constructor(private readonly metrics: Metrics) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body } = describeError(err);
    if (status >= 500) this.logger.error((err as Error)?.stack ?? String(err));
    if (reply.sent) return;
    this.metrics.errorSent(body.error.code);
    const openAI: OpenAIErrorBody = { error: { message: body.error.message, type: errorType(status), param: null, code: body.error.code } };
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(openAI);
  }
}
