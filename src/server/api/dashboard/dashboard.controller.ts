import { Controller, Get, type MessageEvent, Sse } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Observable } from 'rxjs';
import type { DashboardHistory } from '../../../../libs/contracts/dashboard';
import { DashboardService } from '../../core/dashboard/dashboard-service';
import { Access } from '../security/access';

/** A comment this often keeps proxies from closing a quiet stream when samples are far apart. */
const HEARTBEAT_MS = 15_000;

@ApiTags('dashboard')
@Controller('v1/dashboard')
export class DashboardController {
  constructor(private readonly dashboard: DashboardService) {}

  @Get()
  @Access('admin')
  @ApiOperation({ summary: 'The dashboard samples of the last 15 minutes: {interval_s, window_s, samples:[…]} (admin scope)' })
  @ApiOkResponse({ description: 'Samples oldest first; see DashboardSample in libs/contracts/dashboard.ts' })
  history(): DashboardHistory {
    return this.dashboard.history();
  }

  @Sse('events')
  @Access('admin')
  @ApiOperation({
    summary: 'Live dashboard feed (text/event-stream, admin scope): `event: history` with the samples so far, then `event: sample` per new sample',
  })
  @ApiProduces('text/event-stream')
  events(): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      subscriber.next({ type: 'history', data: this.dashboard.history() });
      const unsubscribe = this.dashboard.subscribe((sample) => subscriber.next({ type: 'sample', data: sample }));
      const heartbeat = setInterval(() => subscriber.next({ comment: '' }), HEARTBEAT_MS);
      heartbeat.unref();
      return () => {
        unsubscribe();
        clearInterval(heartbeat);
      };
    });
  }
}
