import { ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Metrics } from '../../../infra/metrics/metrics';
import { replyWithError } from '../../errors';

/** Errors on the /api/v1 task routes in that service's (FastAPI's) shape: `{"detail": "…"}`, Earshot's status. */
@Catch()
export class TaskErrorFilter implements ExceptionFilter {
  constructor(private readonly metrics: Metrics) {}

  catch(err: unknown, host: ArgumentsHost): void {
    replyWithError(host.switchToHttp().getResponse<FastifyReply>(), err, this.metrics, (body) => ({ detail: body.error.message }));
  }
}
