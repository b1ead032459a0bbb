import { IsDefined, IsInt } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { EarshotError } from '../../core/errors';
import type { ProcessService } from '../../core/process-service';
import { STREAM_SAMPLE_RATES, type StreamStart, type StreamStartParser } from '../../core/stream/stream-service';
import { ProcessRequestDto } from '../process/process-request.dto';

/** The first frame of /v1/ws: a ProcessRequest plus the sample rate of the audio frames to come. */
export class StreamStartDto extends ProcessRequestDto {
  @IsDefined() @IsInt()
  sample_rate!: number;
}

/** Validates the first frame with the same DTO as POST /v1/process and fills the defaults the same way. */
export function streamStartParser(process: ProcessService, batchSize: number): StreamStartParser {
  return async (text: string): Promise<StreamStart> => {
    let plain: unknown;
    try {
      plain = JSON.parse(text);
    } catch (err) {
      throw new EarshotError('invalid_request', `the first frame is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
      throw new EarshotError('invalid_request', 'the first frame must be a JSON object: {"settings":{...},"sample_rate":16000}');
    }
    const dto = plainToInstance(StreamStartDto, plain);
    const errors = await validate(dto, { forbidUnknownValues: true });
    if (errors.length) {
      const flat = (e: (typeof errors)[number], path: string): string[] => [
        ...Object.values(e.constraints ?? {}).map((m) => `${path}${e.property}: ${m}`),
        ...(e.children ?? []).flatMap((c) => flat(c, `${path}${e.property}.`)),
      ];
      throw new EarshotError('invalid_request', `invalid first frame: ${errors.flatMap((e) => flat(e, '')).join('; ')}`);
    }
    if (!(STREAM_SAMPLE_RATES as readonly number[]).includes(dto.sample_rate)) {
      throw new EarshotError('unsupported_audio', `sample_rate ${dto.sample_rate} is not supported; use ${STREAM_SAMPLE_RATES.join(', ')}`);
    }
    const { tasks, tra, dia, emo } = dto.settings;
    if (dia || tasks.includes('diarization')) {
      throw new EarshotError('task_not_available', 'speaker labels on streams need diarization, which is not available yet');
    }
    if (emo || tasks.includes('emotion')) throw new EarshotError('task_not_available', 'emotion recognition is not available on streams');
    if (!tasks.includes('transcribe')) throw new EarshotError('invalid_settings', 'a stream needs the transcribe task');
    const { transcribe } = process.toPipelineRequest({ settings: { tasks: ['transcribe'], tra } });
    return { transcribe: { ...transcribe, batchSize }, sampleRate: dto.sample_rate };
  };
}
