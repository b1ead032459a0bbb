import type { EmotionScores, StreamSegment, StreamServerMessage } from '../../../../libs/contracts/process';
import { WHISPER_SAMPLE_RATE } from '../../../../libs/features/mel';
import { EarshotError } from '../../../contract/errors';
import type { StreamOptions } from '../../../contract/engine-types';
import type { SpeakerEmbedder } from '../diarization/models';
import type { EmotionModel } from '../emotion/emotion-model';
import { DecodeInterrupted } from '../stt/decoding';
import type { ClipDecodeOptions, ClipTranscript } from '../stt/transcriber';
import { type LiveSpeakerLabel, OnlineSpeakers } from './online-speakers';
import { DEFAULT_ENDPOINT_OPTIONS, type EndpointOptions, SPEAKER_TURN_END_SILENCE_SAMPLES } from './utterance-tracker';
import { type DecodedUtterance, finalMessage, type QueuedDecode, StreamSession, type UtteranceAnnotations } from './stream-session';
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
 * English utterances are encoded at their own length plus this much silence instead of as 30 s (whisper.cpp's
 * audio_ctx), whatever STT_SHORT_WINDOW_MODELS says for files. Measured with whisper-tiny on the 20 English DEV
 * utterances (the LJ Speech long clip's sentences and the short clips, one final decode each, 2 shared cores):
 * 30 s windows 8.05% WER and 40.9 CPU s; 10 s of padding 7.53% and 32.5 CPU s; 5 s or 3 s 14% (Whisper repeats itself
 * and the fallback ladder runs: 104–111 CPU s). Files keep 30 s windows for tiny because other languages lost 5
 * points with 10 s of padding, so other languages keep them here too.
 */
const ENGLISH_SHORT_WINDOW_PAD_S = 10;

/**
 * Most tokens a partial decodes: this many per second of its audio, plus PARTIAL_TOKEN_SLACK. A partial cuts the
 * speech mid-word, and with a short window Whisper then often runs on to its token limit (bench:stream, 1 stream:
 * first partial p50 4.2 s instead of 0.8 s). Capped, short windows halve a partial's cost: on 28 prefixes of the
 * English DEV clips (whisper-tiny, every 1.8 s) 26 s of decoding against 47 s with 30 s windows and 60 s uncapped
 * (6 of 28 ran on), with the same words but for the odd one at the cut.
 */
const PARTIAL_TOKENS_PER_S = 5;
const PARTIAL_TOKEN_SLACK = 6;

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
  /** The live speakers of each stream with the diarization task, and the segment ids of each utterance they labelled. */
  private readonly speakers = new Map<StreamSession, { labels: OnlineSpeakers; segmentIds: number[][] }>();
  private running = false;
  /**
   * Asked between a partial decode's steps (once its utterance has shown a partial): frames that came meanwhile are
   * scored, and when a final (or an early final) is now due, the partial stops so that the final does not wait for it. Without this a final's latency
   * included the partial decode in flight when its utterance ended, most of the tail of bench:stream.
   */
  private readonly partialInterrupt = async (): Promise<boolean> => {
    const scoring = this.withFrames();
    if (scoring.length) await this.scoreFrames(scoring);
    return this.finalWaiting();
  };

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
    if (options.speakers) this.speakers.set(session, { labels: new OnlineSpeakers((await this.embedder()).clustering, options.speakers), segmentIds: [] });
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
        // Checked and acted on in one tick: a frame that an end() makes due meanwhile would otherwise be missed.
        const scoring = this.withFrames();
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

  private withFrames(): StreamSession[] {
    return [...this.sessions.values()].filter((s) => s.hasFrame);
  }

  /** A final (or early final) is waiting in some stream's queue. */
  private finalWaiting(): boolean {
    return [...this.sessions.values()].some((s) => s.queue.some((q) => q.event.kind !== 'partial'));
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
    for (const [id, session] of heads) {
      const ready = session.queue[0].ready;
      if (ready) await this.finish({ id, session, ...session.take() }, ready);
    }
    heads = heads.filter(([, s]) => s.queue.length);
    // Finals (and early finals) first, all of them: their latency is the one that counts. Partials: the streams
    // that waited longest.
    const finals = heads.filter(([, s]) => s.queue[0].event.kind !== 'partial');
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
    const final = group[0].event.kind !== 'partial';
    // Speaker embedding and emotion run alongside the decode; a failure there fails its stream when the final goes out.
    const annotations = new Map(group.map((d) => [d, final ? this.annotate(d) : {}]));
    const languages = group.map((d) => d.session.language);
    const window = languages.every((l) => l === 'en') ? { shortWindowPadS: ENGLISH_SHORT_WINDOW_PAD_S } : {};
    const longest = Math.max(...group.map((d) => d.clip.length)) / WHISPER_SAMPLE_RATE;
    // A partial may give way to a final only once its utterance has shown one: audio sent faster than real time
    // makes a final due during almost every partial, and its utterance would then show none.
    const interruptible = !final && group.every((d) => d.session.showedPartial);
    const partialTokens = Math.min(transcribe.maxNewTokens ?? Infinity, Math.ceil(longest * PARTIAL_TOKENS_PER_S) + PARTIAL_TOKEN_SLACK);
    let results: ClipTranscript[];
    try {
      results = await this.decoder.decodeClips(
        model,
        group.map((d) => d.clip),
        languages,
        // Partials: greedy and once, whatever the stream asked for; finals decode as offline transcription does.
        final
          ? { ...transcribe, fallback: true, ...window }
          : {
              ...transcribe,
              beamSize: 1,
              wordTimestamps: false,
              fallback: false,
              maxNewTokens: partialTokens,
              ...window,
              ...(interruptible ? { interrupt: this.partialInterrupt } : {}),
            },
      );
    } catch (err) {
      // A partial that gave way to a final is dropped; the next one of its utterance shows the words.
      if (err instanceof DecodeInterrupted) return;
      for (const d of group) this.fail(d.id, err);
      return;
    }
    for (const [i, d] of group.entries()) {
      // A stream closed while its decode ran is gone; its result goes nowhere.
      if (d.session.closed) continue;
      const decoded = { result: results[i], annotations: annotations.get(d)! };
      if (d.event.kind === 'partial') {
        const message = d.session.partial(d.event, results[i]);
        if (message) this.send(d.id, d.session, () => [message]);
      } else if (d.event.kind === 'final') {
        await this.finish(d, decoded);
      } else {
        d.session.earlyDecoded(d, decoded);
      }
    }
  }

  /** The speaker embedding and the emotion of an utterance that will have a final, when the stream asked for them. */
  private annotate(d: DueDecode): UtteranceAnnotations {
    const annotations: UtteranceAnnotations = {};
    if (this.speakers.has(d.session)) annotations.embedding = this.embedder().then(async (e) => (await e.embed(d.clip, [[[0, d.clip.length]]]))[0]);
    if (d.session.options.emotion) annotations.emotion = this.emotionOf(d.session.options.emotion.model, d.clip);
    // A failure is handled when the final goes out; this keeps it from counting as unhandled meanwhile.
    for (const pending of [annotations.embedding, annotations.emotion]) pending?.catch(() => undefined);
    return annotations;
  }

  /**
   * Sends an utterance's final: its segments with the speaker label and the emotion; then a relabel frame for each
   * earlier segment whose speaker the stream so far now puts elsewhere (worked out once the final is out).
   */
  private async finish(d: DueDecode, { result, annotations }: DecodedUtterance): Promise<void> {
    const speakers = this.speakers.get(d.session);
    let speaker: LiveSpeakerLabel | undefined;
    try {
      if (speakers && annotations.embedding) speaker = speakers.labels.assign(await annotations.embedding, speechSeconds(d));
    } catch (err) {
      this.fail(d.id, err);
      return;
    }
    const segments = d.session.final(d.event, result, speaker);
    if (annotations.emotion) this.sendWithEmotion(d, segments, annotations.emotion);
    else this.send(d.id, d.session, () => segments.map((s) => finalMessage(s)));
    if (!speakers || !speaker) return;
    speakers.segmentIds.push(segments.map((s) => s.id));
    this.send(d.id, d.session, () =>
      speakers.labels
        .revise()
        .flatMap(({ utterance, speaker }) => speakers.segmentIds[utterance].map((id) => ({ type: 'relabel' as const, segment_id: id, speaker }))),
    );
  }

  /** The finals with their emotion if it comes within EMOTION_WAIT_MS; else without, and the emotion as it comes. */
  private sendWithEmotion(d: DueDecode, segments: StreamSegment[], emotion: Promise<EmotionScores>): void {
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
  return d.event.kind !== 'partial'
    ? JSON.stringify(['final', t.model, t.task, t.beamSize, t.temperature, t.wordTimestamps, t.initialPrompt, ...decoder])
    : JSON.stringify(['partial', t.model, t.task, t.temperature, t.initialPrompt, ...decoder]);
}

/** Seconds of speech in a final's utterance (its clip less the pre-roll and end pad). */
function speechSeconds(d: DueDecode): number {
  const { start, end } = d.event.kind === 'final' ? d.event.speech : d.event;
  return (end - start) / WHISPER_SAMPLE_RATE;
}
