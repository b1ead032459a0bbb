import { randomUUID } from 'node:crypto';
import {
  EMOTION_LEVELS,
  type OutputFormat,
  type ProcessRequest,
  type ProcessResponse,
  TASKS,
  type TaskName,
} from '../../../libs/contracts/process';
import { diarizationOptions } from '../../contract/diarization-settings';
import { EarshotError } from '../../contract/errors';
import { checkSpeakerSelection, type SpeakerSelection, type SpeakerService } from './speakers/speaker-service';
import { renderRttm } from './formats/rttm';
import { type RenderedOutput, renderTranscript } from './formats/transcript-formats';
import type { EmotionOptions } from '../../engine/core/emotion/emotion-analyzer';
import type { PipelineRequest, PipelineResult } from '../../engine/core/pipeline';

/** Runs the pipeline somewhere (an inference worker) and reports progress. */
export interface PipelineEngine {
  process(audioPath: string, request: PipelineRequest, onProgress?: (fraction: number) => void, options?: RunOptions): Promise<PipelineResult>;
}

export interface RunOptions {
  /** Wait for an inference slot instead of being refused while the service is busy (background jobs). */
  background?: boolean;
  /** Stops the run (waiting or running); default: the current HTTP request's. */
  signal?: AbortSignal;
}

export interface ModelCatalog {
  has(name: string): boolean;
}

/** Enrolled speakers for dia.speakers, and whose they are: the calling API key's (none in a background job). */
export interface KnownSpeakers {
  directory: Pick<SpeakerService, 'identification' | 'pin'>;
  currentTenant(): string | undefined;
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
    private readonly speakers?: KnownSpeakers,
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
    if (tasks.includes('transcribe') && !this.models.has(model)) {
      throw new EarshotError('model_not_found', `model "${model}" is not installed (GET /v1/models lists the installed ones)`);
    }
    const emotion = tasks.includes('emotion') ? this.emotionOptions(request, tasks) : undefined;
    return {
      tasks,
      ...(emotion ? { emotion } : {}),
      transcribe: {
        model,
        language: (tra.language ?? 'auto').toLowerCase(),
        task: tra.task ?? 'transcribe',
        beamSize: tra.beam_size ?? 1,
        temperature: tra.temperature ?? 0,
        // Speakers are assigned per word, and word-level emotion needs the words' times.
        wordTimestamps: (tra.word_timestamps ?? false) || tasks.includes('diarization') || emotion?.level === 'word',
        initialPrompt: tra.initial_prompt ?? null,
        vadFilter: tra.vad_filter ?? true,
        batchSize: this.defaults.batchSize,
      },
      ...(tasks.includes('diarization') ? { diarization: diarizationOptions(request.settings.dia ?? {}) } : {}),
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
  async pinSpeakers(request: ProcessRequest): Promise<ProcessRequest> {
    const selection = this.speakerSelection(request);
    if (!selection) return request;
    const tenant = this.speakers!.currentTenant();
    if (tenant === undefined) return request;
    const ids = await this.speakers!.directory.pin(tenant, selection);
    // Nothing to pin ("all" of a key without speakers): "all" stays, which the job, run without a key, resolves to
    // no one (an empty list would be refused as a selection).
    if (ids.length === 0) return request;
    return { ...request, settings: { ...request.settings, dia: { ...request.settings.dia, speakers: ids } } };
  }

  private emotionOptions(request: ProcessRequest, tasks: TaskName[]): EmotionOptions {
    const emo = request.settings.emo ?? {};
    const level = emo.analysis_level ?? 'segment';
    if (!(EMOTION_LEVELS as readonly string[]).includes(level)) {
      throw new EarshotError('invalid_settings', `unknown emo.analysis_level "${level}"; levels are ${EMOTION_LEVELS.join(', ')}`);
    }
    if (level === 'word' && !tasks.includes('transcribe')) {
      throw new EarshotError('invalid_settings', 'emo.analysis_level "word" needs the transcribe task (words come from the transcript)');
    }
    const model = emo.model ?? this.defaults.emotionModel;
    if (!model || !this.emotionModels.has(model)) {
      throw new EarshotError('model_not_found', `emotion model "${model}" is not installed (GET /v1/models lists the installed ones)`);
    }
    return { level, model };
  }

  async process(
    audioPath: string,
    request: ProcessRequest,
    onProgress?: (fraction: number) => void,
    options?: RunOptions,
  ): Promise<ProcessResponse> {
    const pipelineRequest = this.toPipelineRequest(request);
    const selection = this.speakerSelection(request);
    if (selection && pipelineRequest.diarization) {
      pipelineRequest.diarization.identify = await this.speakers!.directory.identification(this.speakers!.currentTenant(), selection);
    }
    const result = await this.engine.process(audioPath, pipelineRequest, onProgress, options);
    return { status: 'completed', request_id: randomUUID(), ...result };
  }

  /** The body to send for `format_output`: the JSON response, text/subtitles of the transcript, or RTTM turns. */
  render(response: ProcessResponse, format: OutputFormat): RenderedOutput | ProcessResponse {
    const { tra, dia, segments } = response.result;
    if (format === 'rttm' && dia) return { contentType: 'text/plain; charset=utf-8', body: renderRttm(dia, response.request_id) };
    return format === 'json' || format === 'rttm' || !tra ? response : renderTranscript(tra, format, segments);
  }
}
