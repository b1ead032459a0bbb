import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArgumentsHost, Catch, Controller, type ExceptionFilter, Get, HttpCode, Inject, Post, Query, Redirect, Req, Res, UseFilters } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiExcludeEndpoint, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TaskName } from '../../../../../libs/contracts/process';
import { EarshotError } from '../../../../contract/errors';
import { ProcessService } from '../../../core/process-service';
import { SystemService } from '../../../core/system-service';
import { APP_CONFIG, type AppConfig } from '../../../infra/config/app-config';
import { requestContext, runFor } from '../../../infra/context/request-context';
import { Access } from '../../security/access';
import { Metrics } from '../../../infra/metrics/metrics';
import { AudioUrlFetcher } from '../../../infra/net/audio-url';
import { replyWithError } from '../../errors';
import { asrResponse, hotwordsOf, nlsErrorBody } from './nls-protocol';
import { spoolRawBody } from './raw-audio-body';

/** Errors in funasr-api's shape `{task_id, result:"", status: <NLS code>, message}`, with Earshot's HTTP status. */
@Catch()
export class FunasrErrorFilter implements ExceptionFilter {
  constructor(private readonly metrics: Metrics) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const taskId = String(reply.getHeader('task_id') ?? '');
    replyWithError(reply, err, this.metrics, (body) => nlsErrorBody(taskId, body.error.code, body.error.message));
  }
}

/** The model kind of speech-to-text models in GET /v1/models. */
const STT = 'stt';

/** A boolean query parameter ("true"/"false"/"1"/"0"); `fallback` when absent. */
function flag(raw: string | undefined, name: string, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (/^(true|1)$/i.test(raw)) return true;
  if (/^(false|0)$/i.test(raw)) return false;
  throw new EarshotError('invalid_request', `${name} must be true or false, not "${raw}"`);
}

/**
 * funasr-api's Alibaba Cloud–compatible REST routes over the process service: the raw audio body (or
 * `audio_address`) transcribed, diarized unless `enable_speaker_diarization=false`.
 */
@ApiTags('compat: funasr-api (Alibaba Cloud NLS)')
@UseFilters(FunasrErrorFilter)
@Controller()
export class FunasrController {
  constructor(
    private readonly service: ProcessService,
    private readonly system: SystemService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AudioUrlFetcher) private readonly audioUrls: AudioUrlFetcher,
  ) {}

  @Post('stream/v1/asr')
  @Access('process')
  @HttpCode(200)
  @ApiOperation({ summary: 'Transcribe the raw audio body (application/octet-stream or audio/*), with speakers by default' })
  @ApiConsumes('application/octet-stream', 'audio/wav', 'audio/mpeg')
  @ApiBody({ required: false, schema: { type: 'string', format: 'binary' }, description: 'The audio file itself; not needed with audio_address' })
  @ApiQuery({
    name: 'model_id',
    required: false,
    type: 'string',
    description: 'An installed Earshot model; other names (qwen3-asr-1.7b, paraformer-large) use the default',
  })
  @ApiQuery({ name: 'audio_address', required: false, type: 'string', description: 'http(s) URL of the audio instead of a body' })
  @ApiQuery({ name: 'sample_rate', required: false, type: 'integer', description: 'Accepted; files are decoded at their own rate' })
  @ApiQuery({ name: 'enable_speaker_diarization', required: false, type: 'boolean', description: 'default true: segments carry speaker_id' })
  @ApiQuery({ name: 'word_timestamps', required: false, type: 'boolean', description: 'default false: segments carry word_tokens' })
  @ApiQuery({ name: 'vocabulary_id', required: false, type: 'string', description: 'Hotwords "word1 weight1 word2 weight2" (weights ignored)' })
  @ApiQuery({ name: 'appkey', required: false, type: 'string', description: 'Accepted and ignored; the API key goes in X-NLS-Token (or Authorization)' })
  @ApiResponse({
    status: 200,
    description: '{task_id, result, status:200, message:"SUCCESS", segments:[{text,start_time,end_time,speaker_id,word_tokens}], duration, processing_time}',
  })
  @ApiResponse({ status: 400, description: '{task_id, result:"", status:40000003, message}' })
  async transcribe(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Query() query: Record<string, string | undefined>) {
    const started = process.hrtime.bigint();
    const taskId = randomUUID().replace(/-/g, '');
    void reply.header('task_id', taskId);
    const diarize = flag(query.enable_speaker_diarization, 'enable_speaker_diarization', true);
    const wordTimestamps = flag(query.word_timestamps, 'word_timestamps', false);
    const audioPath = await this.receiveAudio(req, query.audio_address?.trim());
    try {
      const model = query.model_id && (await this.sttModels()).includes(query.model_id) ? query.model_id : undefined;
      const tasks: TaskName[] = diarize ? ['transcribe', 'diarization'] : ['transcribe'];
      const hotwords = hotwordsOf(query.vocabulary_id);
      const response = await this.service.process(
        audioPath,
        { settings: { tasks, tra: { ...(model ? { model } : {}), word_timestamps: wordTimestamps, ...(hotwords ? { hotwords } : {}) } } },
        runFor(requestContext(req)),
      );
      return asrResponse(taskId, response, Number(process.hrtime.bigint() - started) / 1e9, wordTimestamps);
    } finally {
      await rm(audioPath, { force: true });
    }
  }

  @Get('stream/v1/asr/models')
  @Access('any-key')
  @ApiOperation({ summary: 'The installed speech-to-text models' })
  async models() {
    const { data, default_model } = await this.system.models();
    const models = data
      .filter((m) => m.kind === STT)
      .map((m) => ({ id: m.id, name: m.id, description: m.id === default_model ? 'default' : '', loaded: m.loaded, realtime: true, offline: true }));
    return { models, total: models.length, loaded_count: models.filter((m) => m.loaded).length };
  }

  @Get('stream/v1/asr/health')
  @Access('any-key')
  @ApiOperation({ summary: 'healthy once the default model is loaded' })
  health() {
    const ready = this.system.ready;
    return {
      status: ready ? 'healthy' : 'unhealthy',
      model_loaded: ready,
      device: this.config.engine.device,
      version: '0.1.0',
      message: ready ? 'ASR service is running normally' : 'ASR model not loaded',
    };
  }

  @Get('ws/v1/asr/test')
  @Access('public')
  @ApiExcludeEndpoint()
  @Redirect('/#live-title', 302)
  testPage(): void {
    // funasr-api's browser test page: the playground's live mode, which streams the microphone over /v1/ws.
  }

  private async sttModels(): Promise<string[]> {
    return (await this.system.models()).data.filter((m) => m.kind === STT).map((m) => m.id);
  }

  private async receiveAudio(req: FastifyRequest, audioAddress: string | undefined): Promise<string> {
    if (!audioAddress) return spoolRawBody(req, this.config.server.uploadDir, this.config.server.maxUploadBytes);
    req.raw.resume();
    await mkdir(this.config.server.uploadDir, { recursive: true });
    const path = join(this.config.server.uploadDir, `${randomUUID()}.upload`);
    try {
      await this.audioUrls.download(audioAddress, path, this.config.server.maxUploadBytes, requestContext(req).signal);
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
    return path;
  }
}
