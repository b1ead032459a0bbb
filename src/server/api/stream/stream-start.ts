import { IsInt, IsOptional } from 'class-validator';
import type { TaskName } from '../../../../libs/contracts/process';
import { EarshotError } from '../../../contract/errors';
import type { ProcessService } from '../../core/process-service';
import { STREAM_SAMPLE_RATES, type StreamStart, type StreamStartParser } from '../../core/stream/stream-service';
import { ProcessRequestDto } from '../process/process-request.dto';
import { validateBody } from '../validate-body';

/** The seed contract's audio: PCM16 16 kHz mono, which its clients send without naming a rate. */
const DEFAULT_SAMPLE_RATE = 16000;

/** The first frame of /v1/ws: a ProcessRequest plus the sample rate of the audio frames to come (default 16000). */
export class StreamStartDto extends ProcessRequestDto {
  @IsOptional()
  @IsInt()
  sample_rate?: number;
}

/**
 * The seed service's clients send their whole ProcessRequest model: `tra.temperature` as its fallback ladder (a
 * list), and `emo.analysis_level` values Earshot does not have. A stream decodes from the ladder's first
 * temperature (its finals fall back as files do), and scores emotion per final whatever the level, so both are
 * taken as they come.
 */
function acceptSeedRequest(plain: unknown): unknown {
  const settings = (plain as { settings?: { tra?: { temperature?: unknown }; emo?: { analysis_level?: unknown } } }).settings;
  if (typeof settings !== 'object' || settings === null) return plain;
  const temperature = settings.tra?.temperature;
  if (Array.isArray(temperature) && temperature.length > 0) settings.tra!.temperature = temperature[0];
  if (settings.emo && typeof settings.emo === 'object') delete settings.emo.analysis_level;
  return plain;
}

/**
 * Validates the first frame with the same DTO as POST /v1/process and fills the defaults the same way, except the
 * model: streams default to `defaultModel` (DEFAULT_STREAM_MODEL), which answers within their latency target.
 * Diarization gives every final a speaker (within dia's counts), named after the enrolled voices of dia.speakers,
 * which are read here, for the connection's `tenant`, as for POST /v1/process; emotion gives it the emotion of
 * settings.emo.model.
 */
export function streamStartParser(process: ProcessService, batchSize: number, defaultModel: string): StreamStartParser {
  return async (text: string, tenant: string): Promise<StreamStart> => {
    let plain: unknown;
    try {
      plain = JSON.parse(text);
    } catch (err) {
      throw new EarshotError('invalid_request', `the first frame is not valid JSON: ${(err as Error).message}`);
    }
    const dto = await validateBody(StreamStartDto, acceptSeedRequest(plain), 'first frame ({"settings":{...},"sample_rate":16000})');
    const sampleRate = dto.sample_rate ?? DEFAULT_SAMPLE_RATE;
    if (!(STREAM_SAMPLE_RATES as readonly number[]).includes(sampleRate)) {
      throw new EarshotError('unsupported_audio', `sample_rate ${sampleRate} is not supported; use ${STREAM_SAMPLE_RATES.join(', ')}`);
    }
    const { tasks, tra, dia, emo } = dto.settings;
    if (!tasks.includes('transcribe')) throw new EarshotError('invalid_settings', 'a stream needs the transcribe task');
    if (dia?.stereo_mode) throw new EarshotError('invalid_settings', 'dia.stereo_mode does not apply to streams: their audio is mono');
    const request = await process.toIdentifyingRequest(
      {
        settings: { tasks: tasks as TaskName[], tra: { ...tra, model: tra?.model ?? defaultModel }, dia: dia ?? undefined, emo: emo ?? undefined },
      },
      tenant,
    );
    const { diarization, emotion } = request;
    return {
      // Speakers come from each utterance's embedding, not from words: word times only when asked for.
      transcribe: { ...request.transcribe, wordTimestamps: tra?.word_timestamps ?? false, batchSize },
      sampleRate,
      ...(diarization
        ? {
            speakers: {
              mode: diarization.mode,
              numSpeakers: diarization.numSpeakers,
              minSpeakers: diarization.minSpeakers,
              maxSpeakers: diarization.maxSpeakers,
              ...(diarization.identify ? { identify: diarization.identify } : {}),
            },
          }
        : {}),
      ...(emotion ? { emotion: { model: emotion.model } } : {}),
    };
  };
}
