import type { EmotionScores, StreamSegment, StreamServerMessage } from '../../../../libs/contracts/process';
import { WHISPER_SAMPLE_RATE } from '../../../../libs/features/mel';
import { EarshotError } from '../../../contract/errors';
import type { StreamOptions } from '../../../contract/engine-types';
import type { SpeakerEmbedder } from '../diarization/models';
import type { EmotionModel } from '../emotion/emotion-model';
import type { ClipDecodeOptions, ClipTranscript } from '../stt/transcriber';
import { type LiveSpeakerLabel, OnlineSpeakers } from './online-speakers';
import { DEFAULT_ENDPOINT_OPTIONS, type EndpointOptions, SPEAKER_TURN_END_SILENCE_SAMPLES } from './utterance-tracker';
import { finalMessage, type QueuedDecode, StreamSession } from './stream-session';
import type { StreamingVad } from './streaming-vad';
import { utteranceEmotions } from './utterance-emotion';

/** Runs a batch of clips of one model with the same decoding options (the worker's model cache behind it). */
export interface ClipDecoder {
  decodeClips(model: string, clips: Float32Array[], languages: string[], opts: ClipDecodeOptions): Promise<ClipTranscript[]>;
}

/** The models behind speaker labels and emotion on finals (the worker's diarizer embedder and emotion cache). */
export interface StreamAnnotators {
  speakerEmbedder?: () => Promise<SpeakerEmbedder>;
  withEmotionModel?: <R>(model: string, fn: (model: EmotionModel) => Promise<R>) => Promise<R>;
}

interface DueDecode extends QueuedDecode {
  id: number;
  session: StreamSession;
}

/**
 * Longest a final waits for its emotion once its text is ready (the emotion runs alongside the decode); past it the
 * final goes without, and an `emotion` frame for its segments follows.
 */
const EMOTION_WAIT_MS = 300;

/**
 * English utterances' finals are encoded at their own length plus this much silence instead of as 30 s (whisper.cpp's
 * audio_ctx), whatever STT_SHORT_WINDOW_MODELS says for files. Measured with whisper-tiny on the 20 English DEV
 * utterances (the LJ Speech long clip's sentences and the short clips, one final decode each, 2 shared cores):
 * 30 s windows 8.05% WER and 40.9 CPU s; 10 s of padding 7.53% and 32.5 CPU s; 5 s or 3 s 14% (Whisper repeats itself
 * and the fallback ladder runs: 104–111 CPU s). Files keep 30 s windows for tiny because other languages lost 5
 * points with 10 s of padding, so other languages keep them here too. Partials keep 30 s windows: cut mid-word with
 * 10 s of silence, Whisper runs on (bench:stream, 1 stream, idle: short partials gave first partial p50 4.24 s and
 * final p50 2.07 s; short finals only 0.78 s and 1.24 s, the same 4.38% WER).
 */
const ENGLISH_SHORT_WINDOW_PAD_S = 10;

/**
 * Partial decodes run per loop turn, at most: each costs an encoder pass, and a final that becomes due meanwhile
 * waits for them.
 */
const MAX_PARTIALS_PER_TURN = 4;

/**
 * Every live stream of the inference worker. One loop serves them all: it scores the next frame of every stream
 * that has one in a single VAD batch; then it runs the decodes at the head of the streams' queues: all due finals
 * together (one batch per model and decoding options), else a few partials, the longest waiting first. Scoring is
 * far cheaper than decoding, so endpointing keeps up with the audio and finals never wait behind a queue of partials.
 */
export class StreamHub {
  private readonly sessions = new Map<number, StreamSession>();
  private readonly speakers = new Map<StreamSession, OnlineSpeakers>();
  private running = false;

  constructor(
    private readonly vad: StreamingVad,
    private readonly decoder: ClipDecoder,
    private readonly emit: (streamId: number, message: StreamServerMessage) => void,
    private readonly annotators: StreamAnnotators = {},
    private readonly endpoint: EndpointOptions = DEFAULT_ENDPOINT_OPTIONS,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Loads what the stream's tasks need (speaker embedder, emotion model), then opens it; throws when one is missing. */
  async open(id: number, options: StreamOptions): Promise<void> {
    if (options.speakers) await this.embedder();
    if (options.emotion) await this.withEmotionModel(options.emotion.model, async () => undefined);
    const endpoint = options.speakers ? { ...this.endpoint, endSilenceSamples: SPEAKER_TURN_END_SILENCE_SAMPLES } : this.endpoint;
    const session = new StreamSession(options, this.vad.newStream(), endpoint);
    this.sessions.set(id, session);
    if (options.speakers) this.speakers.set(session, new OnlineSpeakers((await this.embedder()).clustering, options.speakers));
  }

  push(id: number, samples: Float32Array): void {
    const session = this.sessions.get(id);
    if (!session || session.ending) return;
    if (!session.append(samples)) {
      const limit = session.options.maxBufferedSamples / WHISPER_SAMPLE_RATE;
      this.fail(
        id,
        new EarshotError('overloaded', `more than ${limit} s of audio waiting to be processed: audio is arriving faster than the service keeps up`),
      );
      return;
    }
    this.kick();
  }

  /** The client is done: the rest is flushed, then "done" is sent. */
  end(id: number): void {
    const session = this.sessions.get(id);
    if (!session) return;
    session.ending = true;
    this.kick();
  }

  /** Disconnect: forgets the stream at once (a decode in flight for it is discarded). */
  close(id: number): void {
    const session = this.sessions.get(id);
    if (session) this.forget(id, session);
  }

  private forget(id: number, session: StreamSession): void {
    session.closed = true;
    this.sessions.delete(id);
    this.speakers.delete(session);
  }

  /** Sends messages of a stream in order, after any it still holds back; nothing once it is closed. */
  private send(id: number, session: StreamSession, messages: () => StreamServerMessage[] | Promise<StreamServerMessage[]>): void {
    session.outbox = session.outbox.then(async () => {
      for (const message of await messages()) if (!session.closed) this.emit(id, message);
    });
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        const scoring = [...this.sessions.values()].filter((s) => s.hasFrame);
        if (scoring.length) {
          await this.scoreFrames(scoring);
          continue;
        }
        for (const [id, session] of this.sessions) {
          if (session.settle()) {
            this.sessions.delete(id);
            this.speakers.delete(session);
            this.send(id, session, () => [{ type: 'done' }]);
          }
        }
        const heads = [...this.sessions].filter(([, s]) => s.queue.length);
        if (!heads.length) break;
        await this.decodeNext(heads);
      }
    } finally {
      this.running = false;
    }
  }

  private async scoreFrames(sessions: StreamSession[]): Promise<void> {
    const frame = this.vad.frameSamples;
    const frames = new Float32Array(sessions.length * frame);
    sessions.forEach((s, i) => s.readFrame(frames.subarray(i * frame, (i + 1) * frame)));
    const probs = await this.vad.scoreFrames(
      frames,
      sessions.map((s) => s.vadState),
    );
    sessions.forEach((s, i) => s.onProbability(probs[i]));
  }

  private async decodeNext(heads: Array<[number, StreamSession]>): Promise<void> {
    const finals = heads.filter(([, s]) => s.queue[0].event.kind === 'final');
    // Finals first, all of them: their latency is the one that counts. Partials: the streams that waited longest.
    const chosen = finals.length ? finals : heads.sort(([, a], [, b]) => a.queue[0].enqueuedAt - b.queue[0].enqueuedAt).slice(0, MAX_PARTIALS_PER_TURN);
    const groups = new Map<string, DueDecode[]>();
    for (const [id, session] of chosen) {
      const d = { id, session, ...session.take() };
      const key = batchKey(d);
      groups.set(key, [...(groups.get(key) ?? []), d]);
    }
    for (const group of groups.values()) await this.decodeGroup(group);
  }

  private async decodeGroup(group: DueDecode[]): Promise<void> {
    const { model, ...transcribe } = group[0].session.options.transcribe;
    const final = group[0].event.kind === 'final';
    // Emotion runs alongside the decode; a failure there fails its stream when the final goes out.
    const emotions = new Map<DueDecode, Promise<EmotionScores>>();
    if (final) for (const d of group) if (d.session.options.emotion) emotions.set(d, this.emotionOf(d.session.options.emotion.model, d.clip));
    const languages = group.map((d) => d.session.language);
    const window = final && languages.every((l) => l === 'en') ? { shortWindowPadS: ENGLISH_SHORT_WINDOW_PAD_S } : {};
    let results: ClipTranscript[];
    try {
      results = await this.decoder.decodeClips(
        model,
        group.map((d) => d.clip),
        languages,
        // Partials: greedy and once, whatever the stream asked for; finals decode as offline transcription does.
        final ? { ...transcribe, fallback: true, ...window } : { ...transcribe, beamSize: 1, wordTimestamps: false, fallback: false, ...window },
      );
    } catch (err) {
      for (const d of group) this.fail(d.id, err);
      return;
    }
    for (const [i, d] of group.entries()) {
      // A stream closed while its decode ran is gone; its result goes nowhere.
      if (d.session.closed) continue;
      if (!final) {
        const message = d.session.partial(d.event, results[i]);
        if (message) this.send(d.id, d.session, () => [message]);
        continue;
      }
      let speaker: LiveSpeakerLabel | undefined;
      try {
        speaker = await this.speakerOf(d);
      } catch (err) {
        this.fail(d.id, err);
        continue;
      }
      const segments = d.session.final(d.event, results[i], speaker);
      const emotion = emotions.get(d);
      if (emotion) this.sendWithEmotion(d, segments, emotion);
      else this.send(d.id, d.session, () => segments.map((s) => finalMessage(s)));
    }
  }

  /** The utterance's speaker label, when the stream asked for speakers. */
  private async speakerOf(d: DueDecode): Promise<LiveSpeakerLabel | undefined> {
    const speakers = this.speakers.get(d.session);
    if (!speakers) return undefined;
    const [embedding] = await (await this.embedder()).embed(d.clip, [[[0, d.clip.length]]]);
    return speakers.assign(embedding, d.clip.length / WHISPER_SAMPLE_RATE);
  }

  /** The finals with their emotion if it comes within EMOTION_WAIT_MS; else without, and the emotion as it comes. */
  private sendWithEmotion(d: DueDecode, segments: StreamSegment[], emotion: Promise<EmotionScores>): void {
    // A late failure is handled below; this keeps it from counting as unhandled meanwhile.
    emotion.catch(() => undefined);
    const wait = new Promise<null>((resolve) => setTimeout(() => resolve(null), EMOTION_WAIT_MS));
    const inTime = Promise.race([emotion, wait]).catch(() => null);
    this.send(d.id, d.session, async () => {
      const early = await inTime;
      if (early) return segments.map((s) => finalMessage(s, early));
      if (!d.session.closed) for (const s of segments) this.emit(d.id, finalMessage(s));
      try {
        const late = await emotion;
        return segments.map((s) => ({ type: 'emotion', segment_id: s.id, emotion: late, emotional: late.scores }));
      } catch (err) {
        this.fail(d.id, err);
        return [];
      }
    });
  }

  private emotionOf(model: string, clip: Float32Array): Promise<EmotionScores> {
    return this.withEmotionModel(model, async (m) => (await utteranceEmotions(m, [clip]))[0]);
  }

  private async embedder(): Promise<SpeakerEmbedder> {
    if (!this.annotators.speakerEmbedder) throw new EarshotError('task_not_available', 'speaker labels are not set up for streams here');
    return this.annotators.speakerEmbedder();
  }

  private async withEmotionModel<R>(model: string, fn: (model: EmotionModel) => Promise<R>): Promise<R> {
    if (!this.annotators.withEmotionModel) throw new EarshotError('task_not_available', 'emotion is not set up for streams here');
    return this.annotators.withEmotionModel(model, fn);
  }

  private fail(id: number, err: unknown): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.forget(id, session);
    const code = err instanceof EarshotError ? err.code : 'internal';
    this.emit(id, { type: 'error', code, message: (err as Error).message });
  }
}

/** Clips batch together when they need the same model and the same decoding. */
function batchKey(d: DueDecode): string {
  const t = d.session.options.transcribe;
  // The decoder fields of sensory-transcription clients (schedule, thresholds, …) decide a decode too.
  const decoder = [
    t.temperatures,
    t.bestOf,
    t.patience,
    t.compressionRatioThreshold,
    t.logProbThreshold,
    t.noSpeechThreshold,
    t.withoutTimestamps,
    t.maxNewTokens,
  ];
  return d.event.kind === 'final'
    ? JSON.stringify(['final', t.model, t.task, t.beamSize, t.temperature, t.wordTimestamps, t.initialPrompt, ...decoder])
    : JSON.stringify(['partial', t.model, t.task, t.temperature, t.initialPrompt, ...decoder]);
}
