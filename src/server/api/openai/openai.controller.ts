import { applyDecorators, Controller, HttpCode, Inject, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DIARIZATION_MODES } from '../../../../libs/contracts/process';
import { ProcessService } from '../../core/process-service';
import type { RenderedOutput } from '../../core/formats/transcript-formats';
import { APP_CONFIG, type AppConfig } from '../../infra/config/app-config';
import { requestContext, runFor } from '../../infra/context/request-context';
import { receiveForm } from '../process/multipart-upload';
import { validateProcessRequest } from '../process/process.controller';
import { Access } from '../security/access';
import { OpenAIErrorFilter } from './openai-errors';
import { OPENAI_RESPONSE_FORMATS, OPENAI_WHISPER_MODEL, TIMESTAMP_GRANULARITIES, toProcessRequest } from './openai-request';
import { openAIBody } from './openai-response';

const COMMON_FIELDS = {
  file: { type: 'string', format: 'binary', description: 'The audio: wav, mp3, ogg/opus, flac, m4a/aac, webm, …' },
  model: {
    type: 'string',
    example: OPENAI_WHISPER_MODEL,
    description: `"${OPENAI_WHISPER_MODEL}" is the default model; any installed Earshot model name also works`,
  },
  prompt: { type: 'string', description: 'Text that conditions the decoder (names, spelling, style)' },
  response_format: { type: 'string', enum: [...OPENAI_RESPONSE_FORMATS], default: 'json' },
  temperature: { type: 'number', minimum: 0, maximum: 1, default: 0 },
  diarize: { type: 'boolean', description: 'Earshot: also diarize (alias enable_speaker_diarization): adds dia and merged_segments' },
  emotion: { type: 'boolean', description: 'Earshot: also recognise emotion: adds emo and merged_segments' },
  speakers: { type: 'string', description: 'Earshot: "all" or comma-separated enrolled speaker ids or names to name (adds diarization)' },
  diarization_mode: {
    type: 'string',
    enum: [...DIARIZATION_MODES],
    description: 'Earshot: dia.mode; "identify" (needs speakers) labels each speech segment by the nearest enrolled voice, no clustering',
  },
};

const OpenAIResponses = () =>
  applyDecorators(
    ApiResponse({ status: 200, description: 'json {text}; verbose_json {task, language, duration, text, segments, words}; text, srt or vtt as text' }),
    ApiResponse({ status: 400, description: 'Malformed form or fields. Errors are {"error":{"message","type","param","code"}}' }),
    ApiResponse({ status: 404, description: 'Unknown model' }),
    ApiResponse({ status: 413, description: 'Upload over MAX_UPLOAD_MB or audio over MAX_AUDIO_SECONDS' }),
    ApiResponse({ status: 415, description: 'Audio that cannot be decoded' }),
  );

/** OpenAI's audio API (`/v1/audio/transcriptions`, `/v1/audio/translations`) over the same pipeline as /v1/process. */
@ApiTags('openai')
@Controller('v1/audio')
@UseFilters(OpenAIErrorFilter)
export class OpenAIController {
  constructor(
    private readonly service: ProcessService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('transcriptions')
  @Access('process')
  @HttpCode(200)
  @ApiOperation({ summary: 'OpenAI-compatible transcription' })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file'],
      properties: {
        ...COMMON_FIELDS,
        language: { type: 'string', description: 'ISO 639-1 code; detected when absent' },
        'timestamp_granularities[]': {
          type: 'array',
          items: { type: 'string', enum: [...TIMESTAMP_GRANULARITIES] },
          description: 'verbose_json only; default segment',
        },
      },
    },
  })
  @OpenAIResponses()
  transcriptions(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<unknown> {
    return this.run(req, reply, 'transcribe');
  }

  @Post('translations')
  @Access('process')
  @HttpCode(200)
  @ApiOperation({ summary: 'OpenAI-compatible translation into English' })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', required: ['file'], properties: COMMON_FIELDS } })
  @OpenAIResponses()
  translations(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<unknown> {
    return this.run(req, reply, 'translate');
  }

  private async run(req: FastifyRequest, reply: FastifyReply, task: 'transcribe' | 'translate'): Promise<unknown> {
    const form = await receiveForm(req, this.config.server.uploadDir, this.config.server.maxUploadBytes, {
      audioField: 'file',
      maxFiles: 1,
      usage: 'with a "file" field (the OpenAI audio API form)',
    });
    try {
      const parsed = toProcessRequest(form.fields, task);
      const request = await validateProcessRequest(parsed.request, 'form fields');
      const response = await this.service.process(form.files[0].path, request, runFor(requestContext(req)));
      if (parsed.responseFormat === 'json' || parsed.responseFormat === 'verbose_json') {
        return openAIBody(response, parsed.responseFormat, task, parsed.granularities);
      }
      const rendered = this.service.render(response, parsed.responseFormat) as RenderedOutput;
      void reply.header('content-type', rendered.contentType);
      return rendered.body;
    } finally {
      await form.discard();
    }
  }
}
