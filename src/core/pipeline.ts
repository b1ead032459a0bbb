import type { MergedSegment, ProcessResult, TaskName } from '../../libs/contracts/process';
import { decodeAudioFile, type DecodeLimits } from './audio/decode';
import type { SpeechProbabilityModel } from './audio/vad';
import type { Diarizer } from './diarization/diarizer';
import type { DiarizationOptions } from './diarization/settings';
import { diarizeChannels, transcribeChannels } from './diarization/stereo';
import { EarshotError } from './errors';
import { mergeSegments } from './merge';
import type { TranscribeOptions, WhisperTranscriber } from './stt/transcriber';

/** Settings of one request after validation, with every default filled in. */
export interface PipelineRequest {
  tasks: TaskName[];
  transcribe: TranscribeOptions & { model: string };
  /** Present when the diarization task runs. */
  diarization?: DiarizationOptions;
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

/** Where the pipeline gets the speaker diarizer and, for stereo mode, a voice-activity model. */
export interface DiarizerProvider {
  diarizer(): Promise<Diarizer>;
  vad(): Promise<SpeechProbabilityModel>;
}

/** Decodes one audio file and runs the requested tasks on it; transcription and diarization run side by side. */
export class AudioPipeline {
  constructor(
    private readonly transcribers: TranscriberProvider,
    private readonly limits: DecodeLimits,
    private readonly diarizers?: DiarizerProvider,
  ) {}

  async run(audioPath: string, request: PipelineRequest, onProgress: (fraction: number) => void): Promise<PipelineResult> {
    const timings: Record<string, number> = {};
    const started = performance.now();
    const audio = await decodeAudioFile(audioPath, this.limits);
    timings.decode = Math.round(performance.now() - started);
    const result: PipelineResult['result'] = {};
    const transcribing = request.tasks.includes('transcribe');
    const stereo = request.diarization?.stereoMode ? await this.decodeChannels(audioPath, audio.channels) : null;
    let stereoSegments: MergedSegment[] | undefined;
    const work: Promise<void>[] = [];
    if (transcribing) {
      work.push((async () => {
        const t0 = performance.now();
        const { model, ...options } = request.transcribe;
        if (stereo) {
          ({ tra: result.tra, segments: stereoSegments } = await this.transcribers.withTranscriber(model, (t) =>
            transcribeChannels(stereo, (samples) => t.transcribe(samples, options)),
          ));
        } else {
          result.tra = await this.transcribers.withTranscriber(model, (t) => t.transcribe(audio.samples, options, onProgress));
        }
        timings.transcribe = Math.round(performance.now() - t0);
      })());
    }
    if (request.diarization) {
      const options = request.diarization;
      work.push((async () => {
        if (!this.diarizers) throw new EarshotError('task_not_available', 'diarization is not set up in this pipeline');
        const t0 = performance.now();
        if (stereo) {
          result.dia = await diarizeChannels(stereo, await this.diarizers.vad());
        } else {
          const diarizer = await this.diarizers.diarizer();
          result.dia = await diarizer.diarize(audio.samples, options, transcribing ? undefined : onProgress);
        }
        timings.diarization = Math.round(performance.now() - t0);
      })());
    }
    // Let both tasks finish before reporting a failure, so none keeps running after the request has ended.
    const failed = (await Promise.allSettled(work)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (result.tra && result.dia) result.segments = stereoSegments ?? mergeSegments(result.tra, result.dia);
    timings.total = Math.round(performance.now() - started);
    return {
      audio: { duration_s: Math.round(audio.durationS * 1000) / 1000, sample_rate: audio.sampleRate, channels: audio.channels },
      timings_ms: timings,
      result,
    };
  }

  /** Stereo mode: each of the two channels on its own. */
  private async decodeChannels(audioPath: string, channels: number): Promise<Float32Array[]> {
    if (channels !== 2) throw new EarshotError('invalid_settings', `dia.stereo_mode needs a 2-channel file; this one has ${channels}`);
    const decoded = await Promise.all([0, 1].map((c) => decodeAudioFile(audioPath, this.limits, c)));
    return decoded.map((d) => d.samples);
  }
}
