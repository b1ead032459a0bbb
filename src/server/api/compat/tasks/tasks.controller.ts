import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Job } from '../../../../../libs/contracts/process';
import { EarshotError } from '../../../../contract/errors';
import { JobService } from '../../../core/jobs/job-service';
import { SystemService } from '../../../core/system-service';
import { APP_CONFIG, type AppConfig } from '../../../infra/config/app-config';
import { requestContext } from '../../../infra/context/request-context';
import { receiveForm } from '../../process/multipart-upload';
import { Access } from '../../security/access';
import { TaskErrorFilter } from './task-errors';
import { historyRecord, queueStatus, submitResponse, taskResult, taskStats } from './task-shapes';

const HISTORY_LIMIT_MAX = 100;
/** Jobs per page when the stats walk every kept job. */
const PAGE = 100;

const SUBMIT_RESPONSE = {
  type: 'object',
  properties: {
    task_id: { type: 'string' },
    status: { type: 'string', enum: ['queued'] },
    position: { type: 'integer', nullable: true },
    estimated_wait: { type: 'integer', nullable: true },
  },
};
const STATUS = { type: 'string', enum: ['queued', 'processing', 'done', 'failed'] };

/** A job that is gone answers as that service did: 404 "Task not found". */
async function orTaskNotFound<T>(work: Promise<T>, id: string): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof EarshotError && err.code === 'job_not_found') throw new EarshotError('job_not_found', `Task not found: ${id}`);
    throw err;
  }
}

/**
 * The Redis task service's nine routes (kikipounamu ASR_server), over Earshot's background jobs: a task is a job that
 * transcribes. Shapes are that service's; errors are FastAPI's `{"detail": "…"}`.
 */
@ApiTags('compat: task service (/api/v1)')
@UseFilters(TaskErrorFilter)
@Controller('api/v1')
export class TasksController {
  constructor(
    private readonly jobs: JobService,
    private readonly system: SystemService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('asr/submit')
  @Access('process')
  @HttpCode(200)
  @ApiOperation({ summary: 'Queue a transcription task' })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', required: ['audio'], properties: { audio: { type: 'string', format: 'binary' } } } })
  @ApiQuery({ name: 'language', required: false, type: 'string', description: 'ISO code (zh, en, …) or "auto" (default: detected)' })
  @ApiQuery({ name: 'batch_size', required: false, type: 'integer', description: 'Accepted and ignored (the service batches by itself)' })
  @ApiResponse({ status: 200, schema: SUBMIT_RESPONSE })
  async submit(@Req() req: FastifyRequest, @Query('language') language?: string) {
    const form = await receiveForm(req, this.config.server.uploadDir, this.config.server.maxUploadBytes, {
      audioField: 'audio',
      maxFiles: 1,
      usage: 'with one "audio" file',
    });
    try {
      const tra = { language: language?.trim() || 'auto' };
      const { job_id } = await this.jobs.submit(form.files[0].path, { settings: { tasks: ['transcribe'], tra } }, null, requestContext(req).principal.id);
      return submitResponse(job_id, await this.jobs.stats());
    } finally {
      await form.discard();
    }
  }

  @Get('asr/result/:taskId')
  @Access('jobs:read')
  @ApiOperation({ summary: 'Status and, once done, the text of a task' })
  @ApiResponse({
    status: 200,
    schema: {
      type: 'object',
      properties: {
        task_id: { type: 'string' },
        status: STATUS,
        text: { type: 'string', nullable: true },
        duration: { type: 'number', nullable: true },
        created_at: { type: 'string', nullable: true },
        audio_url: { type: 'string', nullable: true },
        error: { type: 'string', nullable: true },
        retry_url: { type: 'string', nullable: true },
        progress: { type: 'integer', nullable: true },
      },
    },
  })
  @ApiResponse({ status: 404, description: '{"detail": "Task not found: …"}' })
  async result(@Param('taskId') taskId: string) {
    return taskResult(await orTaskNotFound(this.jobs.get(taskId), taskId));
  }

  @Get('health')
  @Access('public')
  @ApiOperation({ summary: 'ready, degraded (models loading or no job runners here) or unavailable (job store unreachable)' })
  async health() {
    const uptime = `${this.system.health().uptime_s}s`;
    try {
      const stats = await this.jobs.stats();
      const ready = this.system.ready && stats.workers > 0;
      return {
        status: ready ? 'ready' : 'degraded',
        model_loaded: this.system.ready,
        redis_connected: true,
        workers_active: stats.workers,
        uptime,
        error: null,
      };
    } catch (err) {
      return { status: 'unavailable', model_loaded: this.system.ready, redis_connected: false, workers_active: 0, uptime, error: (err as Error).message };
    }
  }

  @Get('asr/history')
  @Access('jobs:read')
  @ApiOperation({ summary: 'The latest finished transcriptions, newest first' })
  @ApiQuery({ name: 'limit', required: false, type: 'integer', description: `1..${HISTORY_LIMIT_MAX}, default 10` })
  async history(@Query('limit') rawLimit?: string) {
    const limit = rawLimit === undefined || rawLimit === '' ? 10 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_LIMIT_MAX) {
      throw new EarshotError('invalid_settings', `limit must be an integer from 1 to ${HISTORY_LIMIT_MAX}`);
    }
    const { jobs } = await this.jobs.list({ status: 'completed', limit });
    return { total: jobs.length, records: jobs.map(historyRecord) };
  }

  @Get('asr/audio/:taskId')
  @Access('jobs:read')
  @ApiOperation({ summary: 'The uploaded audio of a task' })
  @ApiResponse({ status: 404, description: '{"detail": "Audio file not found"}' })
  async audio(@Param('taskId') taskId: string, @Res() reply: FastifyReply): Promise<void> {
    let path: string;
    try {
      path = await this.jobs.audioPath(taskId);
    } catch (err) {
      if (err instanceof EarshotError && err.code === 'job_not_found') throw new EarshotError('job_not_found', 'Audio file not found');
      throw err;
    }
    await reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${taskId}"`)
      .send(createReadStream(path));
  }

  @Get('asr/queue/status')
  @Access('jobs:read')
  @ApiOperation({ summary: 'Tasks queued, processing and failed; job runners' })
  async queue() {
    return queueStatus(await this.jobs.stats());
  }

  @Post('asr/retry/:taskId')
  @Access('process')
  @HttpCode(200)
  @ApiOperation({ summary: 'Queue a failed task again' })
  @ApiResponse({ status: 200, schema: SUBMIT_RESPONSE })
  @ApiResponse({ status: 400, description: '{"detail": "Only failed tasks can be retried"}' })
  @ApiResponse({ status: 404, description: '{"detail": "Task not found: …"}' })
  async retry(@Param('taskId') taskId: string) {
    const job = await orTaskNotFound(this.jobs.get(taskId), taskId);
    if (job.status !== 'failed') throw new EarshotError('invalid_request', 'Only failed tasks can be retried');
    await this.jobs.retry(taskId);
    return submitResponse(taskId, await this.jobs.stats());
  }

  @Delete('asr/task/:taskId')
  @Access('process')
  @ApiOperation({ summary: 'Delete a task and its audio (a running one is cancelled)' })
  async remove(@Param('taskId') taskId: string) {
    try {
      await this.jobs.delete(taskId);
      return { task_id: taskId, deleted: true, message: 'Task deleted successfully' };
    } catch (err) {
      if (err instanceof EarshotError && err.code === 'job_not_found') return { task_id: taskId, deleted: false, message: 'Task not found' };
      throw err;
    }
  }

  @Get('stats')
  @Access('jobs:read')
  @ApiOperation({ summary: 'Completed tasks kept, their audio seconds, average real-time factor, stored audio' })
  async stats() {
    const jobs: Job[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.jobs.list({ limit: PAGE, cursor });
      jobs.push(...page.jobs);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    const sizes = await Promise.all(
      jobs.map((j) =>
        this.jobs.audioPath(j.job_id).then(
          (path) => stat(path).then((s) => s.size),
          () => 0,
        ),
      ),
    );
    return taskStats(
      jobs,
      sizes.reduce((a, b) => a + b, 0),
    );
  }
}
