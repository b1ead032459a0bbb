import { randomUUID } from 'node:crypto';
import {
  type OutputFormat,
  type ProcessRequest,
  type ProcessResponse,
  TASKS,
  type TaskName,
} from '../../libs/contracts/process';
import { EarshotError } from './errors';
import { type RenderedOutput, renderTranscript } from './formats/transcript-formats';
import type { PipelineRequest, PipelineResult } from './pipeline';

/** Runs the pipeline somewhere (an inference worker) and reports progress. */
export interface PipelineEngine {
  process(audioPath: string, request: PipelineRequest, onProgress?: (fraction: number) => void): Promise<PipelineResult>;
}

export interface ModelCatalog {
  has(name: string): boolean;
}

export interface ProcessDefaults {
  sttModel: string;
  batchSize: number;
}

/** Tasks whose implementation has landed; the others are refused with task_not_available. */
const AVAILABLE_TASKS: ReadonlySet<TaskName> = new Set(['transcribe']);

/** POST /v1/process without HTTP: settings → pipeline request, pipeline result → response body or text format. */
export class ProcessService {
  constructor(
    private readonly engine: PipelineEngine,
    private readonly models: ModelCatalog,
    private readonly defaults: ProcessDefaults,
  ) {}

  /** Whether a task has landed here; adapters ignore a request for one that has not, instead of refusing it. */
  isTaskAvailable(task: TaskName): boolean {
    return AVAILABLE_TASKS.has(task);
  }

  /** Checks settings that need knowledge beyond the DTO (tasks, models) and fills every default. */
  toPipelineRequest(request: ProcessRequest): PipelineRequest {
    if (request.async_process) {
      throw new EarshotError('task_not_available', 'async_process (background jobs) is not available yet');
    }
    const tasks = [...new Set(request.settings.tasks)];
    for (const task of tasks) {
      if (!(TASKS as readonly string[]).includes(task)) {
        throw new EarshotError('invalid_settings', `unknown task "${task}"; tasks are ${TASKS.join(', ')}`);
      }
      if (!AVAILABLE_TASKS.has(task)) throw new EarshotError('task_not_available', `task "${task}" is not available yet`);
    }
    const format = request.format_output ?? 'json';
    if (format !== 'json' && !tasks.includes('transcribe')) {
      throw new EarshotError('invalid_settings', `format_output "${format}" needs the transcribe task`);
    }
    const tra = request.settings.tra ?? {};
    const model = tra.model ?? this.defaults.sttModel;
    if (!this.models.has(model)) {
      throw new EarshotError('model_not_found', `model "${model}" is not installed (GET /v1/models lists the installed ones)`);
    }
    return {
      tasks,
      transcribe: {
        model,
        language: (tra.language ?? 'auto').toLowerCase(),
        task: tra.task ?? 'transcribe',
        beamSize: tra.beam_size ?? 1,
        temperature: tra.temperature ?? 0,
        wordTimestamps: tra.word_timestamps ?? false,
        initialPrompt: tra.initial_prompt ?? null,
        vadFilter: tra.vad_filter ?? true,
        batchSize: this.defaults.batchSize,
      },
    };
  }

  async process(audioPath: string, request: ProcessRequest): Promise<ProcessResponse> {
    const pipelineRequest = this.toPipelineRequest(request);
    const result = await this.engine.process(audioPath, pipelineRequest);
    return { status: 'completed', request_id: randomUUID(), ...result };
  }

  /** The body to send for `format_output`: the JSON response, or text/subtitles of the transcript. */
  render(response: ProcessResponse, format: OutputFormat): RenderedOutput | ProcessResponse {
    return format === 'json' || !response.result.tra ? response : renderTranscript(response.result.tra, format);
  }
}
