import type { ProcessResult, TaskName } from '../../libs/contracts/process';
import { decodeAudioFile, type DecodeLimits } from './audio/decode';
import type { TranscribeOptions, WhisperTranscriber } from './stt/transcriber';

/** Settings of one request after validation, with every default filled in. */
export interface PipelineRequest {
  tasks: TaskName[];
  transcribe: TranscribeOptions & { model: string };
}

export interface PipelineResult {
  audio: { duration_s: number; sample_rate: number; channels: number };
  timings_ms: Record<string, number>;
  result: ProcessResult;
}

/** Where the pipeline gets a ready transcriber for a model name. */
export interface TranscriberProvider {
  withTranscriber<R>(model: string, fn: (transcriber: WhisperTranscriber) => Promise<R>): Promise<R>;
}

/** Decodes one audio file and runs the requested tasks on it. */
export class AudioPipeline {
  constructor(
    private readonly transcribers: TranscriberProvider,
    private readonly limits: DecodeLimits,
  ) {}

  async run(audioPath: string, request: PipelineRequest, onProgress: (fraction: number) => void): Promise<PipelineResult> {
    const timings: Record<string, number> = {};
    const started = performance.now();
    const audio = await decodeAudioFile(audioPath, this.limits);
    timings.decode = Math.round(performance.now() - started);
    const result: PipelineResult['result'] = {};
    if (request.tasks.includes('transcribe')) {
      const t0 = performance.now();
      const { model, ...options } = request.transcribe;
      result.tra = await this.transcribers.withTranscriber(model, (t) => t.transcribe(audio.samples, options, onProgress));
      timings.transcribe = Math.round(performance.now() - t0);
    }
    timings.total = Math.round(performance.now() - started);
    return {
      audio: { duration_s: Math.round(audio.durationS * 1000) / 1000, sample_rate: audio.sampleRate, channels: audio.channels },
      timings_ms: timings,
      result,
    };
  }
}
