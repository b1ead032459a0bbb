import { Body, Controller, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { OUTPUT_FORMATS, type OutputFormat, type ProcessResponse } from '../../../../libs/contracts/process';
import { EarshotError } from '../../../contract/errors';
import { ProcessService } from '../../core/process-service';
import { Access } from '../security/access';
import { validateBody } from '../validate-body';
import { RenderRequestDto } from './render.dto';

const RENDERED_FORMATS = OUTPUT_FORMATS.filter((f) => f !== 'json');

@ApiTags('process')
@Controller('v1/render')
export class RenderController {
  constructor(private readonly service: ProcessService) {}

  @Post()
  @Access('any-key')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Render a result you already have as text, SRT, WebVTT or RTTM, without processing the audio again',
    description: "The body is a POST /v1/process answer or a job's result (word lists may be left out). The same writers as format_output.",
  })
  @ApiQuery({ name: 'format', enum: RENDERED_FORMATS })
  @ApiResponse({ status: 200, description: 'text/plain, application/x-subrip or text/vtt' })
  @ApiResponse({ status: 400, description: 'Unknown format or a body that is not a result' })
  @ApiResponse({ status: 422, description: 'The result lacks what the format needs (a transcript; speaker turns for rttm)' })
  async render(@Query('format') format: string | undefined, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    if (!(RENDERED_FORMATS as readonly string[]).includes(format ?? '')) {
      throw new EarshotError('invalid_request', `format must be one of ${RENDERED_FORMATS.join(', ')}`);
    }
    const request = await validateBody(RenderRequestDto, body, 'render body');
    if (format === 'rttm' ? !request.result.dia : !request.result.tra) {
      throw new EarshotError('invalid_settings', format === 'rttm' ? 'rttm needs result.dia (speaker turns)' : `${format} needs result.tra (a transcript)`);
    }
    const rendered = this.service.render({ request_id: request.request_id ?? 'earshot', result: request.result } as ProcessResponse, format as OutputFormat);
    if (!('contentType' in rendered)) throw new EarshotError('internal', 'the format rendered no text');
    void reply.header('content-type', rendered.contentType);
    return rendered.body;
  }
}
