import type { EmotionResult, ProcessResult, TaskName, TranscriptionResult } from '../../libs/contracts/process';
import { decodeAudioFile, type DecodeLimits } from './audio/decode';
import { attachEmotion, segmentsFromTranscript } from './emotion/attach';
import type { EmotionAnalyzer, EmotionOptions } from './emotion/emotion-analyzer';
import type { EmotionModel } from './emotion/emotion-model';
import type { TranscribeOptions, WhisperTranscriber } from './stt/transcriber';

/** Settings of one request after validation, with every default filled in. */
export interface PipelineRequest {
  tasks: TaskName[];
  transcribe: TranscribeOptions & { model: string };
  /** Present when the emotion task runs. */
  emotion?: EmotionOptions;
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

/** Where the pipeline gets a ready emotion model for a model name. */
export interface EmotionModelProvider {
  withEmotionModel<R>(model: string, fn: (model: EmotionModel) => Promise<R>): Promise<R>;
}

/** Decodes one audio file and runs the requested tasks on it. */
export class AudioPipeline {
  constructor(
    private readonly transcribers: TranscriberProvider,
    private readonly limits: DecodeLimits,
    private readonly emotion?: { models: EmotionModelProvider; analyzer: EmotionAnalyzer },
  ) {}

  async run(audioPath: string, request: PipelineRequest, onProgress: (fraction: number) => void): Promise<PipelineResult> {
    const timings: Record<string, number> = {};
    const started = performance.now();
    const audio = await decodeAudioFile(audioPath, this.limits);
    timings.decode = Math.round(performance.now() - started);
    const result: PipelineResult['result'] = {};
    let transcription: Promise<TranscriptionResult> | undefined;
    if (request.tasks.includes('transcribe')) {
      const t0 = performance.now();
      const { model, ...options } = request.transcribe;
      transcription = this.transcribers.withTranscriber(model, (t) => t.transcribe(audio.samples, options, onProgress)).then((tra) => {
        timings.transcribe = Math.round(performance.now() - t0);
        return tra;
      });
    }
    // Emotion runs beside transcription; only its segment and word levels wait for the transcript's timing.
    const emotion = request.emotion && this.runEmotion(audio.samples, request.emotion, transcription, timings);
    const [tra, emo] = await Promise.all([transcription, emotion]);
    if (tra) result.tra = tra;
    if (emo) result.emo = emo;
    if (tra && emo && !request.tasks.includes('diarization')) result.segments = attachEmotion(segmentsFromTranscript(tra), emo);
    timings.total = Math.round(performance.now() - started);
    return {
      audio: { duration_s: Math.round(audio.durationS * 1000) / 1000, sample_rate: audio.sampleRate, channels: audio.channels },
      timings_ms: timings,
      result,
    };
  }

  private async runEmotion(
    samples: Float32Array,
    options: EmotionOptions,
    transcription: Promise<TranscriptionResult> | undefined,
    timings: Record<string, number>,
  ): Promise<EmotionResult> {
    if (!this.emotion) throw new Error('the pipeline was built without emotion models');
    const { models, analyzer } = this.emotion;
    const segments = options.level !== 'file' && transcription ? (await transcription).segments : undefined;
    const t0 = performance.now();
    const emo = await models.withEmotionModel(options.model, (model) => analyzer.analyze(model, samples, options.level, segments));
    timings.emotion = Math.round(performance.now() - t0);
    return emo;
  }
}
