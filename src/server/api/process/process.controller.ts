import { Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ProcessRequest } from '../../../../libs/contracts/process';
import { EarshotError } from '../../../contract/errors';
import { JobService } from '../../core/jobs/job-service';
import { ProcessService } from '../../core/process-service';
import { APP_CONFIG, type AppConfig } from '../../infra/config/app-config';
import { requestContext, runFor } from '../../infra/context/request-context';
import { AudioUrlFetcher } from '../../infra/net/audio-url';
import { idempotencyKeyOf } from '../jobs/idempotency-key';
import { Access } from '../security/access';
import { receiveProcessUpload } from './multipart-upload';
import { validateBody } from '../validate-body';
import { ProcessRequestDto } from './process-request.dto';

const DEFAULT_REQUEST: ProcessRequest = { settings: { tasks: ['transcribe'] } };

/** `request_json` → a validated ProcessRequest, or 400 saying what is wrong. */
async function parseRequestJson(raw: string | undefined): Promise<ProcessRequest> {
  if (raw === undefined || raw.trim() === '') return DEFAULT_REQUEST;
  let plain: unknown;
  try {
    plain = JSON.parse(raw);
  } catch (err) {
    throw new EarshotError('invalid_request', `request_json is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
    throw new EarshotError('invalid_request', 'request_json must be a JSON object');
  }
  return validateProcessRequest(plain, 'request_json');
}

/** A plain object → a validated ProcessRequest, or 400 naming what is wrong (`source` names where it came from). */
export function validateProcessRequest(plain: object, source: string): Promise<ProcessRequest> {
  return validateBody(ProcessRequestDto, plain, source) as Promise<ProcessRequest>;
}

@ApiTags('process')
@Controller('v1/process')
export class ProcessController {
  constructor(
    private readonly service: ProcessService,
    private readonly jobs: JobService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AudioUrlFetcher) private readonly audioUrls: AudioUrlFetcher,
  ) {}

  @Post()
  @Access('process')
  @HttpCode(200)
  @ApiOperation({ summary: 'Transcribe (and later diarize / recognise emotion in) one audio file' })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      properties: {
        audio: { type: 'string', format: 'binary', description: 'wav, mp3, ogg/opus, flac, m4a/aac, webm, …; required unless audio_url is given' },
        audio_url: {
          type: 'string',
          description: 'http(s) URL to fetch the audio from instead of uploading it (public addresses only unless ALLOW_PRIVATE_URLS)',
        },
        request_json: { type: 'string', description: 'A JSON ProcessRequest; default {"settings":{"tasks":["transcribe"]}}' },
      },
    },
  })
  @ApiResponse({ status: 200, description: 'The result (JSON, or text/srt/vtt per format_output)' })
  @ApiResponse({
    status: 202,
    description: 'async_process: the job is queued ({status:"queued", job_id}); an Idempotency-Key header returns the same job for the same key',
  })
  @ApiResponse({ status: 400, description: 'Malformed multipart or request_json' })
  @ApiResponse({ status: 404, description: 'Unknown model' })
  @ApiResponse({ status: 413, description: 'Upload over MAX_UPLOAD_MB or audio over MAX_AUDIO_SECONDS' })
  @ApiResponse({ status: 415, description: 'Audio that cannot be decoded' })
  @ApiResponse({ status: 422, description: 'Unknown or unavailable task, impossible settings' })
  @ApiResponse({ status: 401, description: 'Missing or invalid API key' })
  @ApiResponse({ status: 403, description: 'The API key lacks the process scope' })
  @ApiResponse({ status: 429, description: "Over the key's requests/min or audio seconds/hour (Retry-After)" })
  @ApiResponse({ status: 503, description: 'Inference queue full, estimated wait too long, or memory high (Retry-After)' })
  async process(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<unknown> {
    const upload = await receiveProcessUpload(req, this.config.server.uploadDir, this.config.server.maxUploadBytes, this.audioUrls);
    try {
      const request = await parseRequestJson(upload.requestJson);
      if (request.async_process) {
        void reply.status(202);
        return await this.jobs.submit(upload.audioPath, request, idempotencyKeyOf(req), requestContext(req).principal.id);
      }
      const response = await this.service.process(upload.audioPath, request, runFor(requestContext(req)));
      const rendered = this.service.render(response, request.format_output ?? 'json');
      if ('contentType' in rendered) {
        void reply.header('content-type', rendered.contentType);
        return rendered.body;
      }
      return rendered;
    } finally {
      await upload.discard();
    }
  }
}
