import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Metrics } from '../../infra/metrics/metrics';
import { Access } from '../security/access';

@ApiTags('system')
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(Metrics) private readonly metrics: Metrics) {}

  @Get()
  @Access('admin', { publicWhen: 'metricsPublic' })
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Prometheus metrics (admin scope unless METRICS_PUBLIC=true)' })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('content-type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
