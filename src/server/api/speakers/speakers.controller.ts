import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Controller, Delete, Get, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import type { EnrolledSpeaker, SpeakerList } from '../../../../libs/contracts/process';
import { EarshotError } from '../../../contract/errors';
import { SpeakerService } from '../../core/speakers/speaker-service';
import { APP_CONFIG, type AppConfig } from '../../infra/config/app-config';
import { requestContext } from '../../infra/context/request-context';
import { AudioUrlFetcher } from '../../infra/net/audio-url';
import { receiveForm } from '../process/multipart-upload';
import { Access } from '../security/access';

/** Audio files one enrolment request may carry. */
const MAX_ENROLMENT_FILES = 8;

interface EnrolmentForm {
  audioPaths: string[];
  field(name: string): string | undefined;
  discard(): Promise<void>;
}

/** The caller's tenant: its API key's name (everyone shares "anonymous" when the service has no keys). */
function tenant(req: FastifyRequest): string {
  return requestContext(req).principal.id;
}

function parseMetadata(raw: string | undefined): Record<string, unknown> | null {
  if (raw === undefined || raw.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new EarshotError('invalid_request', `metadata is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EarshotError('invalid_request', 'metadata must be a JSON object');
  if (raw.length > 4096) throw new EarshotError('invalid_request', 'metadata is longer than 4096 characters');
  return value as Record<string, unknown>;
}

function parseFlag(raw: string | undefined, name: string): boolean {
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new EarshotError('invalid_request', `${name} must be true or false`);
}

const AUDIO_FORM = {
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', description: 'The name results will show (unique per API key); not for POST /v1/speakers/:id/audio' },
      audio: { type: 'array', items: { type: 'string', format: 'binary' }, description: `1 to ${MAX_ENROLMENT_FILES} files of the one speaker; or audio_url` },
      audio_url: { type: 'string', description: 'http(s) URL of the audio instead of an upload' },
      metadata: { type: 'string', description: 'A JSON object kept with the speaker' },
      keep_audio: { type: 'string', description: 'true: keep the enrolment audio too (default: only the voiceprint is stored)' },
    },
  },
};

@ApiTags('speakers')
@Controller('v1/speakers')
export class SpeakersController {
  constructor(
    private readonly speakers: SpeakerService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(AudioUrlFetcher) private readonly audioUrls: AudioUrlFetcher,
  ) {}

  @Post()
  @Access('speakers')
  @HttpCode(201)
  @ApiOperation({ summary: 'Enrol a speaker: store the voiceprint (mean CAM++ embedding) of their speech' })
  @ApiConsumes('multipart/form-data')
  @ApiBody(AUDIO_FORM)
  @ApiResponse({ status: 201, description: 'The enrolled speaker' })
  @ApiResponse({ status: 409, description: 'A speaker of that name is enrolled for this key' })
  @ApiResponse({ status: 422, description: 'Enrolment audio with no speech, too little speech, or more than one voice' })
  @ApiResponse({ status: 403, description: 'The API key lacks the speakers scope' })
  async enrol(@Req() req: FastifyRequest): Promise<EnrolledSpeaker> {
    const form = await this.receive(req);
    try {
      return await this.speakers.enrol(tenant(req), {
        name: form.field('name') ?? '',
        audioPaths: form.audioPaths,
        metadata: parseMetadata(form.field('metadata')),
        keepAudio: parseFlag(form.field('keep_audio'), 'keep_audio'),
        signal: requestContext(req).signal,
      });
    } finally {
      await form.discard();
    }
  }

  @Get()
  @Access('speakers')
  @ApiOperation({ summary: "This API key's enrolled speakers, oldest first" })
  list(@Req() req: FastifyRequest): Promise<SpeakerList> {
    return this.speakers.list(tenant(req));
  }

  @Get(':id')
  @Access('speakers')
  @ApiOperation({ summary: 'One enrolled speaker' })
  @ApiResponse({ status: 404, description: 'No such speaker for this API key' })
  get(@Param('id') id: string, @Req() req: FastifyRequest): Promise<EnrolledSpeaker> {
    return this.speakers.get(tenant(req), id);
  }

  @Post(':id/audio')
  @Access('speakers')
  @HttpCode(200)
  @ApiOperation({ summary: "Add audio to a speaker's voiceprint (it must be the same voice)" })
  @ApiConsumes('multipart/form-data')
  @ApiBody(AUDIO_FORM)
  @ApiResponse({ status: 404, description: 'No such speaker for this API key' })
  @ApiResponse({ status: 422, description: 'No speech, too little, more than one voice, or another voice than the speaker' })
  async addAudio(@Param('id') id: string, @Req() req: FastifyRequest): Promise<EnrolledSpeaker> {
    const form = await this.receive(req);
    try {
      const keepAudio = parseFlag(form.field('keep_audio'), 'keep_audio');
      return await this.speakers.addAudio(tenant(req), id, form.audioPaths, keepAudio, requestContext(req).signal);
    } finally {
      await form.discard();
    }
  }

  @Delete(':id')
  @Access('speakers')
  @ApiOperation({ summary: 'Delete a speaker: its voiceprint and any kept audio' })
  @ApiResponse({ status: 404, description: 'No such speaker for this API key' })
  delete(@Param('id') id: string, @Req() req: FastifyRequest): Promise<{ speaker_id: string; deleted: true }> {
    return this.speakers.delete(tenant(req), id);
  }

  /** Audio files, or one audio_url fetched to a file, and the text fields. */
  private async receive(req: FastifyRequest): Promise<EnrolmentForm> {
    const { uploadDir, maxUploadBytes } = this.config.server;
    const form = await receiveForm(req, uploadDir, maxUploadBytes, {
      audioField: 'audio',
      maxFiles: MAX_ENROLMENT_FILES,
      usage: 'with a "name" field and "audio" files (or an "audio_url" field)',
      filesOptional: true,
    });
    const field = (name: string) => form.fields.get(name)?.at(-1);
    const audioUrl = field('audio_url')?.trim();
    const audioPaths = form.files.map((f) => f.path);
    if (!audioUrl) {
      if (audioPaths.length === 0) throw new EarshotError('invalid_request', 'missing the "audio" file field (or an "audio_url" field)');
      return { audioPaths, field, discard: form.discard };
    }
    if (audioPaths.length > 0) {
      await form.discard();
      throw new EarshotError('invalid_request', 'send either "audio" files or an "audio_url", not both');
    }
    const path = join(uploadDir, `${randomUUID()}.upload`);
    const discard = () => rm(path, { force: true });
    try {
      await this.audioUrls.download(audioUrl, path, maxUploadBytes, requestContext(req).signal);
    } catch (err) {
      await discard();
      throw err;
    }
    return { audioPaths: [path], field, discard };
  }
}
