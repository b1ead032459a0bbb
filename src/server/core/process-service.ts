import { randomUUID } from 'node:crypto';
import { EMOTION_LEVELS, type OutputFormat, type ProcessRequest, type ProcessResponse, TASKS } from '../../../libs/contracts/process';
import { diarizationOptions } from '../../contract/diarization-settings';
import { EarshotError } from '../../contract/errors';
import { checkSpeakerSelection, type SpeakerSelection, type SpeakerService } from './speakers/speaker-service';
import { renderRttm } from './formats/rttm';
import { type RenderedOutput, renderTranscript } from './formats/transcript-formats';
import type { EmotionOptions, PipelineRequest, PipelineResult } from '../../contract/engine-types';

/** The emotion model_name a sensory-transcription client sends by default; it stands for the default model here. */
const SENSORY_DEFAULT_EMOTION_MODEL = 'gigaam_emo';

/** Most temperatures in a fallback schedule (openai-whisper's default has 6). */
const MAX_TEMPERATURES = 10;

/**
 * `tra.temperature` as a fallback schedule: undefined for one number (the transcriber steps up from it), the list
 * itself for a list.
 */
function temperatureSchedule(temperature: number | number[] | undefined): number[] | undefined {
  if (!Array.isArray(temperature)) return undefined;
  if (temperature.length === 0 || temperature.length > MAX_TEMPERATURES) {
    throw new EarshotError('invalid_settings', `tra.temperature as a list needs 1 to ${MAX_TEMPERATURES} temperatures, got ${temperature.length}`);
  }
  return temperature;
}

/** Runs the pipeline somewhere (an inference worker) and reports progress. */
export interface PipelineEngine {
  process(audioPath: string, request: PipelineRequest, options: EngineRun): Promise<PipelineResult>;
}

/** What the engine needs to know of a run besides its request. */
export interface EngineRun {
  onProgress?: (fraction: number) => void;
  /** Wait for an inference slot instead of being refused while the service is busy (background jobs). */
  background?: boolean;
  /** Stops the run (waiting or running): the HTTP request's, or the job's. */
  signal?: AbortSignal;
  /** The API key whose audio budget the run's audio is charged to: the caller's, or the job's submitter's. */
  chargeTo?: string;
}

export interface RunOptions extends EngineRun {
  /** Whose enrolled speakers dia.speakers names: the calling key's; none for a job (its selection is pinned to ids). */
  tenant?: string;
}

export interface ModelCatalog {
  has(name: string): boolean;
}

export interface ProcessDefaults {
  sttModel: string;
  batchSize: number;
  /** Emotion model used when settings.emo.model is not given. */
  emotionModel?: string;
}

/** POST /v1/process without HTTP: settings → pipeline request, pipeline result → response body or text format. */
export class ProcessService {
  constructor(
    private readonly engine: PipelineEngine,
    private readonly models: ModelCatalog,
    private readonly defaults: ProcessDefaults,
    private readonly emotionModels: ModelCatalog = { has: () => false },
    /** Enrolled speakers, for dia.speakers. */
    private readonly speakers?: Pick<SpeakerService, 'identification' | 'pin'>,
  ) {}

  /** Checks settings that need knowledge beyond the DTO (tasks, models) and fills every default. */
  toPipelineRequest(request: ProcessRequest): PipelineRequest {
    const tasks = [...new Set(request.settings.tasks)];
    for (const task of tasks) {
      if (!(TASKS as readonly string[]).includes(task)) {
        throw new EarshotError('invalid_settings', `unknown task "${task}"; tasks are ${TASKS.join(', ')}`);
      }
    }
    const format = request.format_output ?? 'json';
    if (format === 'rttm' && (!tasks.includes('diarization') || tasks.includes('transcribe'))) {
      throw new EarshotError('invalid_settings', 'format_output "rttm" is for the diarization task without transcribe');
    }
    if (format !== 'json' && format !== 'rttm' && !tasks.includes('transcribe')) {
      throw new EarshotError('invalid_settings', `format_output "${format}" needs the transcribe task`);
    }
    const tra = request.settings.tra ?? {};
    const model = tra.model ?? this.defaults.sttModel;
    const emotion = tasks.includes('emotion') ? this.emotionOptions(request) : undefined;
    // Word and sentence emotion are timed by the transcript, so they transcribe even when the task was not asked for.
    const transcribing = tasks.includes('transcribe') || emotion?.level === 'word' || emotion?.level === 'sentence';
    if (transcribing && !this.models.has(model)) {
      throw new EarshotError('model_not_found', `model "${model}" is not installed (GET /v1/models lists the installed ones)`);
    }
    const temperatures = temperatureSchedule(tra.temperature);
    // hotwords go before the prompt, as faster-whisper places them.
    const prompt = [tra.hotwords, tra.initial_prompt].filter((p): p is string => !!p?.trim()).join(' ');
    return {
      tasks,
      ...(emotion ? { emotion } : {}),
      transcribe: {
        model,
        language: (tra.language ?? 'auto').toLowerCase(),
        task: tra.task ?? 'transcribe',
        beamSize: tra.beam_size ?? 1,
        temperature: temperatures?.[0] ?? (tra.temperature as number | undefined) ?? 0,
        ...(temperatures ? { temperatures } : {}),
        // Speakers are assigned per word, and word- and sentence-level emotion need the words' times.
        wordTimestamps: (tra.word_timestamps ?? false) || tasks.includes('diarization') || emotion?.level === 'word' || emotion?.level === 'sentence',
        initialPrompt: prompt || null,
        vadFilter: tra.vad_filter ?? true,
        batchSize: this.defaults.batchSize,
        ...(tra.best_of !== undefined ? { bestOf: tra.best_of } : {}),
        ...(tra.patience !== undefined ? { patience: tra.patience } : {}),
        ...(tra.compression_ratio_threshold !== undefined ? { compressionRatioThreshold: tra.compression_ratio_threshold } : {}),
        ...(tra.log_prob_threshold !== undefined ? { logProbThreshold: tra.log_prob_threshold } : {}),
        ...(tra.no_speech_threshold !== undefined ? { noSpeechThreshold: tra.no_speech_threshold } : {}),
        ...(tra.without_timestamps !== undefined ? { withoutTimestamps: tra.without_timestamps } : {}),
        ...(tra.max_new_tokens != null ? { maxNewTokens: tra.max_new_tokens } : {}),
      },
      // Speaker-level emotion needs the speakers, so diarization runs for it even unasked (and is not reported).
      ...(tasks.includes('diarization') || emotion?.level === 'speaker' ? { diarization: diarizationOptions(request.settings.dia ?? {}) } : {}),
    };
  }

  /** dia.speakers checked: its shape, that diarization runs, that identification is set up. */
  private speakerSelection(request: ProcessRequest): SpeakerSelection | undefined {
    const selection = request.settings.dia?.speakers;
    if (selection === undefined) return undefined;
    if (!request.settings.tasks.includes('diarization')) throw new EarshotError('invalid_settings', 'dia.speakers needs the diarization task');
    if (request.settings.dia?.stereo_mode && request.settings.dia.mode !== 'identify') {
      throw new EarshotError('invalid_settings', 'dia.speakers with dia.stereo_mode needs dia.mode "identify" (each channel\'s speech labelled by voice)');
    }
    if (!this.speakers) throw new EarshotError('task_not_available', 'speaker identification is not set up in this service');
    return checkSpeakerSelection(selection);
  }

  /**
   * For a background job: dia.speakers as the caller's speaker ids, resolved now (the job runs without the caller,
   * so names and "all" could not be resolved to the right key's speakers later).
   */
  async pinSpeakers(request: ProcessRequest, tenant: string): Promise<ProcessRequest> {
    const selection = this.speakerSelection(request);
    if (!selection) return request;
    const ids = await this.speakers!.pin(tenant, selection);
    // Nothing to pin ("all" of a key without speakers): "all" stays (an empty list would be refused as a selection).
    if (ids.length === 0) return request;
    return { ...request, settings: { ...request.settings, dia: { ...request.settings.dia, speakers: ids } } };
  }

  private emotionOptions(request: ProcessRequest): EmotionOptions {
    const emo = request.settings.emo ?? {};
    const level = emo.analysis_level ?? 'segment';
    if (!(EMOTION_LEVELS as readonly string[]).includes(level)) {
      throw new EarshotError('invalid_settings', `unknown emo.analysis_level "${level}"; levels are ${EMOTION_LEVELS.join(', ')}`);
    }
    // sensory-transcription clients send model_name, "gigaam_emo" (that service's built-in model) by default.
    const named = emo.model ?? (emo.model_name === SENSORY_DEFAULT_EMOTION_MODEL ? undefined : emo.model_name);
    const model = named ?? this.defaults.emotionModel;
    if (!model || !this.emotionModels.has(model)) {
      throw new EarshotError('model_not_found', `emotion model "${model}" is not installed (GET /v1/models lists the installed ones)`);
    }
    return { level, model };
  }

  /**
   * toPipelineRequest, with dia.speakers resolved to the voiceprints of `tenant` (the calling key's; none for a job,
   * whose selection was pinned to ids).
   */
  async toIdentifyingRequest(request: ProcessRequest, tenant: string | undefined): Promise<PipelineRequest> {
    const pipelineRequest = this.toPipelineRequest(request);
    const selection = this.speakerSelection(request);
    if (selection && pipelineRequest.diarization) {
      pipelineRequest.diarization.identify = await this.speakers!.identification(tenant, selection);
    }
    return pipelineRequest;
  }

  async process(audioPath: string, request: ProcessRequest, options: RunOptions): Promise<ProcessResponse> {
    const pipelineRequest = await this.toIdentifyingRequest(request, options.tenant);
    const result = await this.engine.process(audioPath, pipelineRequest, options);
    return { status: 'completed', request_id: randomUUID(), ...result };
  }

  /** The body to send for `format_output`: the JSON response, text/subtitles of the transcript, or RTTM turns. */
  render(response: ProcessResponse, format: OutputFormat): RenderedOutput | ProcessResponse {
    const { tra, dia, segments } = response.result;
    if (format === 'rttm' && dia) return { contentType: 'text/plain; charset=utf-8', body: renderRttm(dia, response.request_id) };
    return format === 'json' || format === 'rttm' || !tra ? response : renderTranscript(tra, format, segments);
  }
}
