import type { DiarizationResult, EmotionResult, MergedSegment, ProcessResult, TranscriptionResult } from '../../../libs/contracts/process';
import type { EmotionOptions, PipelineRequest, PipelineResult, VoiceAnalysis } from '../../contract/engine-types';
import { WHISPER_CHUNK_SAMPLES } from '../../../libs/features/mel';
import { decodeAudioFile, type DecodedAudio, type DecodeLimits } from './audio/decode';
import type { SpeechProbabilityModel } from './audio/vad';
import type { Diarizer } from './diarization/diarizer';
import type { DiarizationOptions } from '../../contract/diarization-settings';
import { diarizeChannels, transcribeChannels } from './diarization/stereo';
import { type ChannelSegments, identifySpeech, labelChannelTranscript } from './diarization/identify';
import { matchVoices, nameSpeakers } from '../../../libs/diarization/voiceprint';
import { attachEmotion } from './emotion/attach';
import type { EmotionAnalyzer } from './emotion/emotion-analyzer';
import type { EmotionModel } from './emotion/emotion-model';
import { EarshotError } from '../../contract/errors';
import { mergeSegments } from './merge';
import type { RunGate } from './run-gate';
import type { WhisperTranscriber } from './stt/transcriber';

/** Where the pipeline gets a ready transcriber for a model name. */
export interface TranscriberProvider {
  withTranscriber<R>(model: string, fn: (transcriber: WhisperTranscriber) => Promise<R>): Promise<R>;
}

/** Where the pipeline gets the speaker diarizer and, for stereo mode, a voice-activity model. */
export interface DiarizerProvider {
  diarizer(): Promise<Diarizer>;
  vad(): Promise<SpeechProbabilityModel>;
}

/** Where the pipeline gets a ready emotion model for a model name. */
export interface EmotionModelProvider {
  withEmotionModel<R>(model: string, fn: (model: EmotionModel) => Promise<R>): Promise<R>;
}

export interface PipelineTasks {
  diarizers?: DiarizerProvider;
  emotion?: { models: EmotionModelProvider; analyzer: EmotionAnalyzer };
}

/**
 * Decodes one audio file and runs the requested tasks on it side by side; emotion at segment or word level waits
 * only for the transcript's timing. When more than one task ran, their results are merged into `result.segments`.
 * With a `gate`, a run takes one of its places unless it only transcribes audio of at most 30 s: such runs share
 * decoder batches (see WindowBatcher) and need not wait behind long files.
 */
export class AudioPipeline {
  constructor(
    private readonly transcribers: TranscriberProvider,
    private readonly limits: DecodeLimits,
    private readonly tasks: PipelineTasks = {},
    private readonly gate?: RunGate,
  ) {}

  /** `signal` takes a run waiting for the gate out of the line. */
  async run(audioPath: string, request: PipelineRequest, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<PipelineResult> {
    const started = performance.now();
    const gate = this.gate;
    const transcribesOnly = request.tasks.every((t) => t === 'transcribe') && !request.diarization && !request.emotion;
    const decodeAndAnalyse = async () => {
      const audio = await decodeAudioFile(audioPath, this.limits);
      const timings: Record<string, number> = { decode: Math.round(performance.now() - started) };
      const analyse = () => this.analyse(audio, audioPath, request, onProgress, timings, started);
      return gate && transcribesOnly && audio.samples.length > WHISPER_CHUNK_SAMPLES ? gate.run(analyse, signal) : analyse();
    };
    // Any other run holds its place from before decoding, so a long file waiting for one holds no decoded audio.
    return gate && !transcribesOnly ? gate.run(decodeAndAnalyse, signal) : decodeAndAnalyse();
  }

  private async analyse(
    audio: DecodedAudio,
    audioPath: string,
    request: PipelineRequest,
    onProgress: (fraction: number) => void,
    timings: Record<string, number>,
    started: number,
  ): Promise<PipelineResult> {
    // Word and sentence emotion items are timed by the transcript, so transcription runs for them even unasked.
    const transcribing = request.tasks.includes('transcribe') || request.emotion?.level === 'word' || request.emotion?.level === 'sentence';
    const stereo = request.diarization?.stereoMode ? await this.decodeChannels(audioPath, audio.channels) : null;
    let stereoSegments: MergedSegment[] | undefined;

    const transcription: Promise<TranscriptionResult> | undefined = transcribing
      ? timed('transcribe', timings, async () => {
          const { model, ...options } = request.transcribe;
          if (!stereo) return this.transcribers.withTranscriber(model, (t) => t.transcribe(audio.samples, options, onProgress));
          const merged = await this.transcribers.withTranscriber(model, (t) => transcribeChannels(stereo, (samples) => t.transcribe(samples, options)));
          stereoSegments = merged.segments;
          return merged.tra;
        })
      : undefined;
    // Identify mode in stereo: the channels' identified segments, to name the channels' transcript segments by.
    let identifiedChannels: ChannelSegments[] | undefined;
    const diarization = request.diarization
      ? timed('diarization', timings, async () => {
          const options = request.diarization!;
          if (options.mode !== 'identify') return this.diarize(audio.samples, stereo, options, transcribing ? undefined : onProgress);
          const identified = await this.identify(stereo ?? [audio.samples], options);
          identifiedChannels = identified.channels;
          return identified.result;
        })
      : undefined;
    const emotion = request.emotion ? this.runEmotion(audio.samples, request.emotion, transcription, diarization, timings) : undefined;

    // Let every task finish before reporting a failure, so none keeps running after the request has ended.
    const settled = await Promise.allSettled([transcription, diarization, emotion]);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [tra, dia, emo] = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
      TranscriptionResult | undefined,
      DiarizationResult | undefined,
      EmotionResult | undefined,
    ];
    const result: ProcessResult = {};
    if (tra && request.tasks.includes('transcribe')) result.tra = tra;
    if (dia && request.tasks.includes('diarization')) result.dia = dia;
    if (emo) result.emo = emo;
    if (result.tra && (result.dia || emo)) {
      const segments = stereoSegments
        ? identifiedChannels
          ? labelChannelTranscript(stereoSegments, identifiedChannels)
          : stereoSegments
        : mergeSegments(result.tra, result.dia);
      result.segments = emo ? attachEmotion(segments, emo) : segments;
    }
    timings.total = Math.round(performance.now() - started);
    return {
      audio: { duration_s: Math.round(audio.durationS * 1000) / 1000, sample_rate: audio.sampleRate, channels: audio.channels },
      timings_ms: timings,
      result,
    };
  }

  private async diarize(
    samples: Float32Array,
    stereo: Float32Array[] | null,
    options: DiarizationOptions,
    onProgress: ((fraction: number) => void) | undefined,
  ): Promise<DiarizationResult> {
    const diarizers = this.tasks.diarizers;
    if (!diarizers) throw new EarshotError('task_not_available', 'diarization is not set up in this pipeline');
    if (stereo) return diarizeChannels(stereo, await diarizers.vad());
    const diarizer = await diarizers.diarizer();
    if (!options.identify) return diarizer.diarize(samples, options, onProgress);
    const { result, voices } = await diarizer.diarizeWithVoices(samples, options, onProgress);
    return nameSpeakers(result, matchVoices(voices, options.identify.voices, options.identify.threshold));
  }

  /** `dia.mode: "identify"`: each channel's speech segments named by voice, without clustering. */
  private async identify(channels: Float32Array[], options: DiarizationOptions): Promise<{ result: DiarizationResult; channels: ChannelSegments[] }> {
    const diarizers = this.tasks.diarizers;
    if (!diarizers) throw new EarshotError('task_not_available', 'diarization is not set up in this pipeline');
    if (!options.identify) throw new EarshotError('invalid_request', 'dia.mode "identify" needs dia.speakers');
    return identifySpeech(channels, await diarizers.vad(), await diarizers.diarizer(), options.identify);
  }

  /** Speaker enrolment: the files decoded and laid end to end with a second of silence between them, diarized. */
  async voices(audioPaths: string[]): Promise<VoiceAnalysis> {
    const diarizers = this.tasks.diarizers;
    if (!diarizers) throw new EarshotError('task_not_available', 'diarization is not set up in this pipeline');
    const decoded = await Promise.all(audioPaths.map((path) => decodeAudioFile(path, this.limits)));
    const gap = decoded[0]?.sampleRate ?? 16000;
    const audio = new Float32Array(decoded.reduce((n, d) => n + d.samples.length + gap, 0));
    let at = 0;
    for (const d of decoded) {
      audio.set(d.samples, at);
      at += d.samples.length + gap;
    }
    const diarizer = await diarizers.diarizer();
    const { voices } = await diarizer.diarizeWithVoices(audio, { numSpeakers: null, minSpeakers: null, maxSpeakers: null });
    return {
      embedder: diarizer.embedderName,
      duration_s: decoded.reduce((s, d) => s + d.durationS, 0),
      voices: voices.map((v) => ({ embedding: Array.from(v.embedding), speech_s: v.speechS })),
    };
  }

  private async runEmotion(
    samples: Float32Array,
    options: EmotionOptions,
    transcription: Promise<TranscriptionResult> | undefined,
    diarization: Promise<DiarizationResult> | undefined,
    timings: Record<string, number>,
  ): Promise<EmotionResult> {
    const emotion = this.tasks.emotion;
    if (!emotion) throw new EarshotError('task_not_available', 'emotion is not set up in this pipeline');
    const segments = options.level !== 'file' && options.level !== 'speaker' && transcription ? (await transcription).segments : undefined;
    const turns = options.level === 'speaker' && diarization ? (await diarization).turns : undefined;
    return timed('emotion', timings, () =>
      emotion.models.withEmotionModel(options.model, (model) => emotion.analyzer.analyze(model, samples, options.level, { segments, turns })),
    );
  }

  /** Stereo mode: each of the two channels on its own. */
  private async decodeChannels(audioPath: string, channels: number): Promise<Float32Array[]> {
    if (channels !== 2) throw new EarshotError('invalid_settings', `dia.stereo_mode needs a 2-channel file; this one has ${channels}`);
    const decoded = await Promise.all([0, 1].map((c) => decodeAudioFile(audioPath, this.limits, c)));
    return decoded.map((d) => d.samples);
  }
}

/** Runs one task and records its wall time under `name`. */
async function timed<T>(name: string, timings: Record<string, number>, task: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const value = await task();
  timings[name] = Math.round(performance.now() - t0);
  return value;
}
