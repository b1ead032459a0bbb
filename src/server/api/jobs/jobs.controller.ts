import { createReadStream } from 'node:fs';
import { Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { JOB_STATUSES, type JobStatus } from '../../../../libs/contracts/process';
import { EarshotError } from '../../../contract/errors';
import { JobService } from '../../core/jobs/job-service';
import { Access } from '../security/access';

function parseStatus(raw: string | undefined): JobStatus | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!(JOB_STATUSES as readonly string[]).includes(raw)) {
    throw new EarshotError('invalid_request', `status must be one of ${JOB_STATUSES.join(', ')}`);
  }
  return raw as JobStatus;
}

function parseLimit(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new EarshotError('invalid_request', 'limit must be an integer from 1 to 100');
  return limit;
}

@ApiTags('jobs')
@Controller()
export class JobsController {
  constructor(private readonly jobs: JobService) {}

  @Get('v1/jobs')
  @Access('jobs:read')
  @ApiOperation({ summary: 'Recent jobs, newest first, paged by next_cursor' })
  @ApiQuery({ name: 'status', required: false, enum: JOB_STATUSES })
  @ApiQuery({ name: 'limit', required: false, description: '1..100, default 20' })
  @ApiQuery({ name: 'cursor', required: false, description: 'next_cursor of the previous page' })
  list(@Query('status') status?: string, @Query('limit') limit?: string, @Query('cursor') cursor?: string) {
    return this.jobs.list({ status: parseStatus(status), limit: parseLimit(limit), cursor: cursor || undefined });
  }

  @Get('v1/jobs/:id')
  @Access('jobs:read')
  @ApiOperation({ summary: 'Status, progress 0..1, timestamps, attempts, result or error, webhook delivery' })
  @ApiResponse({ status: 404, description: 'Unknown job' })
  get(@Param('id') id: string) {
    return this.jobs.get(id);
  }

  @Delete('v1/jobs/:id')
  @Access('process')
  @ApiOperation({ summary: 'Cancel a queued or running job, then delete it and its audio' })
  @ApiResponse({ status: 404, description: 'Unknown job' })
  delete(@Param('id') id: string) {
    return this.jobs.delete(id);
  }

  @Post('v1/jobs/:id/retry')
  @Access('process')
  @HttpCode(202)
  @ApiOperation({ summary: 'Queue a failed job again' })
  @ApiResponse({ status: 404, description: 'Unknown job' })
  @ApiResponse({ status: 409, description: 'The job is not failed' })
  retry(@Param('id') id: string) {
    return this.jobs.retry(id);
  }

  @Get('v1/jobs/:id/audio')
  @Access('jobs:read')
  @ApiOperation({ summary: 'The stored audio of a job, as uploaded' })
  @ApiResponse({ status: 404, description: 'Unknown job, or its audio is gone' })
  async audio(@Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    const path = await this.jobs.audioPath(id);
    await reply.header('content-type', 'application/octet-stream').header('content-disposition', `attachment; filename="${id}"`).send(createReadStream(path));
  }

  @Get('v1/queue')
  @Access('any-key')
  @ApiOperation({ summary: 'Queue depth by status, runners, age of the oldest queued job' })
  queue() {
    return this.jobs.stats();
  }
}
