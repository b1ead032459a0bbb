import { DIARIZATION_MODES, type DiarizationMode, type DiarizationSettings, type ProcessRequest, type TaskName } from '../../../../libs/contracts/process';
import { EarshotError } from '../../../contract/errors';

export const OPENAI_RESPONSE_FORMATS = ['json', 'text', 'srt', 'vtt', 'verbose_json'] as const;
export type OpenAIResponseFormat = (typeof OPENAI_RESPONSE_FORMATS)[number];

export const TIMESTAMP_GRANULARITIES = ['word', 'segment'] as const;
export type TimestampGranularity = (typeof TIMESTAMP_GRANULARITIES)[number];

/** OpenAI's model name; it means "the default model" here. */
export const OPENAI_WHISPER_MODEL = 'whisper-1';

/** Earshot form fields that switch on a task, with the task each one needs. */
const TASK_FLAGS: ReadonlyArray<{ fields: readonly string[]; task: TaskName }> = [
  { fields: ['diarize', 'enable_speaker_diarization'], task: 'diarization' },
  { fields: ['emotion'], task: 'emotion' },
];

export interface OpenAIAudioRequest {
  request: ProcessRequest;
  responseFormat: OpenAIResponseFormat;
  granularities: TimestampGranularity[];
}

/**
 * The OpenAI audio form fields (`model`, `language`, `prompt`, `response_format`, `temperature`,
 * `timestamp_granularities[]`, plus Earshot's task flags, `speakers` and `diarization_mode`) → a ProcessRequest. Settings ranges are checked afterwards
 * by the same DTO as POST /v1/process.
 */
export function toProcessRequest(fields: Map<string, string[]>, task: 'transcribe' | 'translate'): OpenAIAudioRequest {
  const one = (name: string): string | undefined => {
    const value = fields.get(name)?.at(-1)?.trim();
    return value === '' ? undefined : value;
  };
  const responseFormat = (one('response_format') ?? 'json') as OpenAIResponseFormat;
  if (!OPENAI_RESPONSE_FORMATS.includes(responseFormat)) {
    throw new EarshotError('invalid_request', `response_format must be one of ${OPENAI_RESPONSE_FORMATS.join(', ')}`);
  }
  const granularities = [...new Set([...(fields.get('timestamp_granularities[]') ?? []), ...(fields.get('timestamp_granularities') ?? [])])];
  for (const g of granularities) {
    if (!(TIMESTAMP_GRANULARITIES as readonly string[]).includes(g)) {
      throw new EarshotError('invalid_request', `timestamp_granularities[] values are ${TIMESTAMP_GRANULARITIES.join(', ')}, not "${g}"`);
    }
  }
  if (granularities.length > 0 && responseFormat !== 'verbose_json') {
    throw new EarshotError('invalid_request', 'timestamp_granularities[] needs response_format verbose_json');
  }
  const temperatureField = one('temperature');
  const temperature = temperatureField === undefined ? undefined : Number(temperatureField);
  if (temperature !== undefined && !Number.isFinite(temperature)) {
    throw new EarshotError('invalid_request', `temperature must be a number, not "${temperatureField}"`);
  }
  const model = one('model');
  const language = task === 'transcribe' ? one('language') : undefined;

  const tasks: TaskName[] = ['transcribe'];
  for (const flag of TASK_FLAGS) {
    const field = flag.fields.find((f) => fields.has(f));
    if (field !== undefined && parseBoolean(field, one(field))) tasks.push(flag.task);
  }

  // Enrolled speakers to name (Earshot's field): "all" or comma-separated ids or names; it implies diarization.
  const speakersField = one('speakers');
  const speakers: DiarizationSettings['speakers'] =
    speakersField === undefined
      ? undefined
      : speakersField === 'all'
        ? 'all'
        : speakersField
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
  // dia.mode (Earshot's field): "identify" labels each speech segment by the nearest enrolled voice of `speakers`.
  const mode = one('diarization_mode');
  if (mode !== undefined && !(DIARIZATION_MODES as readonly string[]).includes(mode)) {
    throw new EarshotError('invalid_request', `diarization_mode must be one of ${DIARIZATION_MODES.join(', ')}, not "${mode}"`);
  }
  if ((speakers !== undefined || mode !== undefined) && !tasks.includes('diarization')) tasks.push('diarization');
  const dia: DiarizationSettings = { ...(speakers !== undefined && { speakers }), ...(mode !== undefined && { mode: mode as DiarizationMode }) };

  const granularitiesOrDefault: TimestampGranularity[] = granularities.length ? (granularities as TimestampGranularity[]) : ['segment'];
  return {
    request: {
      settings: {
        tasks,
        ...(Object.keys(dia).length > 0 && { dia }),
        tra: {
          ...(model !== undefined && model !== OPENAI_WHISPER_MODEL && { model }),
          ...(language !== undefined && { language }),
          task,
          ...(temperature !== undefined && { temperature }),
          ...(one('prompt') !== undefined && { initial_prompt: one('prompt') }),
          word_timestamps: responseFormat === 'verbose_json' && granularitiesOrDefault.includes('word'),
        },
      },
    },
    responseFormat,
    granularities: granularitiesOrDefault,
  };
}

function parseBoolean(field: string, value: string | undefined): boolean {
  switch (value?.toLowerCase()) {
    case undefined:
    case 'true':
    case '1':
      return true;
    case 'false':
    case '0':
      return false;
    default:
      throw new EarshotError('invalid_request', `${field} must be true or false, not "${value}"`);
  }
}
