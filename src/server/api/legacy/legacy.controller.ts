import { Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { ProcessRequest, ProcessResponse } from '../../../../libs/contracts/process';
import { EarshotError } from '../../../contract/errors';
import { ProcessService } from '../../core/process-service';
import { APP_CONFIG, type AppConfig } from '../../infra/config/app-config';
import { requestContext, runFor } from '../../infra/context/request-context';
import { receiveForm } from '../process/multipart-upload';
import { Access } from '../security/access';

/** Most files one POST /transcribe may carry; each is transcribed as its own request. */
export const TRANSCRIBE_MAX_FILES = 16;

function transcribeRequest(language: string): ProcessRequest {
  return { settings: { tasks: ['transcribe'], tra: { language } } };
}

const elapsedMs = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e6;

/** Routes of the services Earshot replaces, kept with their request and response shapes; errors are Earshot's. */
@ApiTags('legacy')
@Controller()
export class LegacyController {
  constructor(
    private readonly service: ProcessService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('asr_pure')
  @Access('process')
  @HttpCode(200)
  @ApiOperation({ summary: 'Legacy: transcribe one file (language detected)' })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } } })
  @ApiResponse({
    status: 200,
    schema: {
      type: 'object',
      properties: { text: { type: 'string' }, status: { type: 'string', enum: ['success'] }, processing_time_ms: { type: 'number' } },
    },
  })
  async asrPure(@Req() req: FastifyRequest) {
    const started = process.hrtime.bigint();
    const form = await receiveForm(req, this.config.server.uploadDir, this.config.server.maxUploadBytes, {
      audioField: 'file',
      maxFiles: 1,
      usage: 'with one "file" field',
    });
    try {
      const response = await this.service.process(form.files[0].path, transcribeRequest('auto'), runFor(requestContext(req)));
      return { text: response.result.tra!.text, status: 'success', processing_time_ms: Math.round(elapsedMs(started)) };
    } finally {
      await form.discard();
    }
  }

  @Post('transcribe')
  @Access('process')
  @HttpCode(200)
  @ApiOperation({ summary: `Legacy: transcribe up to ${TRANSCRIBE_MAX_FILES} files, each named by its key` })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['files'],
      properties: {
        files: { type: 'array', items: { type: 'string', format: 'binary' } },
        keys: { type: 'string', description: 'Comma-separated names, one per file, in order; default the file names' },
        lang: { type: 'string', default: 'auto', description: '"auto" or an ISO 639-1 code (zh, en, …)' },
      },
    },
  })
  @ApiResponse({
    status: 200,
    schema: {
      type: 'object',
      properties: {
        message: { type: 'string', enum: ['success'] },
        processing_time: { type: 'number', description: 'seconds' },
        results: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' }, text: { type: 'string' } } } },
      },
    },
  })
  async transcribe(@Req() req: FastifyRequest) {
    const started = process.hrtime.bigint();
    const form = await receiveForm(req, this.config.server.uploadDir, this.config.server.maxUploadBytes, {
      audioField: 'files',
      maxFiles: TRANSCRIBE_MAX_FILES,
      usage: 'with one or more "files" fields, "keys" and "lang"',
    });
    try {
      const keysField = form.fields.get('keys')?.at(-1)?.trim();
      const keys = keysField ? keysField.split(',').map((k) => k.trim()) : form.files.map((f, i) => f.filename ?? `file_${i}`);
      if (keys.length !== form.files.length) {
        throw new EarshotError('invalid_request', `"keys" names ${keys.length} files but ${form.files.length} were sent`);
      }
      const request = transcribeRequest(form.fields.get('lang')?.at(-1)?.trim() || 'auto');
      // Settled, not Promise.all: every file must be done with before the finally block deletes them.
      const run = runFor(requestContext(req));
      const settled = await Promise.allSettled(form.files.map((f) => this.service.process(f.path, request, run)));
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
      const responses = settled.map((s) => (s as PromiseFulfilledResult<ProcessResponse>).value);
      return {
        message: 'success',
        processing_time: Math.round(elapsedMs(started)) / 1000,
        results: responses.map((r, i) => ({ key: keys[i], text: r.result.tra!.text })),
      };
    } finally {
      await form.discard();
    }
  }
}
