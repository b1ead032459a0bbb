import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { StreamService } from '../../core/stream/stream-service';
import { Access } from '../security/access';

@ApiTags('stream')
@Controller('v1/ws')
export class StreamStatsController {
  constructor(private readonly streams: StreamService) {}

  @Get('stats')
  @Access('process')
  @ApiOperation({ summary: 'Live streams on /v1/ws: open connections, streams held by the inference worker, the limit' })
  stats() {
    return this.streams.stats();
  }
}
