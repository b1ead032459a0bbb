import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { SystemService } from '../../core/system-service';
import { errorBody } from '../errors';
import { Access } from '../security/access';

@ApiTags('system')
@Controller()
export class SystemController {
  constructor(private readonly system: SystemService) {}

  @Get('health')
  @Access('public')
  @ApiOperation({
    summary: 'Liveness: the process answers; model_status (ok, degraded while loading, unhealthy if the default model failed) and process memory',
  })
  health() {
    return this.system.health();
  }

  @Get('ready')
  @Access('public')
  @ApiOperation({ summary: 'Readiness: 503 until the default model is loaded and warmed up' })
  ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const report = this.system.readinessReport();
    if (report.state !== 'ready') {
      void reply.status(503);
      const why = report.state === 'failed' ? `default model failed to load: ${report.error}` : 'default model is loading';
      return { ...errorBody('not_ready', why), ...report };
    }
    return report;
  }

  @Get('v1/models')
  @Access('any-key')
  @ApiOperation({
    summary:
      'Installed models and which are loaded, in OpenAI\'s list shape ({object:"list", data:[{id, object, created, owned_by, …}]}) with Earshot\'s fields on each entry',
  })
  models() {
    return this.system.models();
  }

  @Get('v1/cache/stats')
  @Access('admin')
  @ApiOperation({ summary: 'Model cache: entries, hits, misses, evictions, bytes' })
  cacheStats() {
    return this.system.cacheStats();
  }
}
