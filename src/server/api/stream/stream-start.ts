import { IsDefined, IsInt } from 'class-validator';
import { EarshotError } from '../../../contract/errors';
import type { ProcessService } from '../../core/process-service';
import { STREAM_SAMPLE_RATES, type StreamStart, type StreamStartParser } from '../../core/stream/stream-service';
import { ProcessRequestDto } from '../process/process-request.dto';
import { validateBody } from '../validate-body';

/** The first frame of /v1/ws: a ProcessRequest plus the sample rate of the audio frames to come. */
export class StreamStartDto extends ProcessRequestDto {
  @IsDefined() @IsInt()
  sample_rate!: number;
}

/**
 * Validates the first frame with the same DTO as POST /v1/process and fills the defaults the same way, except the
 * model: streams default to `defaultModel` (DEFAULT_STREAM_MODEL), which answers within their latency target.
 */
export function streamStartParser(process: ProcessService, batchSize: number, defaultModel: string): StreamStartParser {
  return async (text: string): Promise<StreamStart> => {
    let plain: unknown;
    try {
      plain = JSON.parse(text);
    } catch (err) {
      throw new EarshotError('invalid_request', `the first frame is not valid JSON: ${(err as Error).message}`);
    }
    const dto = await validateBody(StreamStartDto, plain, 'first frame ({"settings":{...},"sample_rate":16000})');
    if (!(STREAM_SAMPLE_RATES as readonly number[]).includes(dto.sample_rate)) {
      throw new EarshotError('unsupported_audio', `sample_rate ${dto.sample_rate} is not supported; use ${STREAM_SAMPLE_RATES.join(', ')}`);
    }
    const { tasks, tra, dia, emo } = dto.settings;
    if (dia || tasks.includes('diarization')) {
      throw new EarshotError('task_not_available', 'speaker labels on streams need diarization, which is not available yet');
    }
    if (emo || tasks.includes('emotion')) throw new EarshotError('task_not_available', 'emotion recognition is not available on streams');
    if (!tasks.includes('transcribe')) throw new EarshotError('invalid_settings', 'a stream needs the transcribe task');
    const { transcribe } = process.toPipelineRequest({ settings: { tasks: ['transcribe'], tra: { ...tra, model: tra?.model ?? defaultModel } } });
    return { transcribe: { ...transcribe, batchSize }, sampleRate: dto.sample_rate };
  };
}
