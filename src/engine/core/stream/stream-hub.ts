import type { StreamServerMessage } from '../../../../libs/contracts/process';
import { WHISPER_SAMPLE_RATE } from '../../../../libs/features/mel';
import { EarshotError } from '../../../contract/errors';
import type { StreamOptions, TranscribeOptions } from '../../../contract/engine-types';
import type { ClipTranscript } from '../stt/transcriber';
import { DEFAULT_ENDPOINT_OPTIONS, type EndpointOptions } from './utterance-tracker';
import { type QueuedDecode, StreamSession } from './stream-session';
import type { StreamingVad } from './streaming-vad';

/** Runs a batch of clips of one model with the same decoding options (the worker's model cache behind it). */
export interface ClipDecoder {
  decodeClips(model: string, clips: Float32Array[], languages: string[], opts: TranscribeOptions & { fallback: boolean }): Promise<ClipTranscript[]>;
}

interface DueDecode extends QueuedDecode {
  id: number;
  session: StreamSession;
}

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
  private running = false;

  constructor(
    private readonly vad: StreamingVad,
    private readonly decoder: ClipDecoder,
    private readonly emit: (streamId: number, message: StreamServerMessage) => void,
    private readonly endpoint: EndpointOptions = DEFAULT_ENDPOINT_OPTIONS,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  open(id: number, options: StreamOptions): void {
    this.sessions.set(id, new StreamSession(options, this.vad.newStream(), this.endpoint));
  }

  push(id: number, samples: Float32Array): void {
    const session = this.sessions.get(id);
    if (!session || session.ending) return;
    if (!session.append(samples)) {
      const limit = session.options.maxBufferedSamples / WHISPER_SAMPLE_RATE;
      this.fail(id, new EarshotError('overloaded', `more than ${limit} s of audio waiting to be processed: audio is arriving faster than the service keeps up`));
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
    this.sessions.delete(id);
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
            this.emit(id, { type: 'done' });
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
    const probs = await this.vad.scoreFrames(frames, sessions.map((s) => s.vadState));
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
    let results: ClipTranscript[];
    try {
      results = await this.decoder.decodeClips(
        model,
        group.map((d) => d.clip),
        group.map((d) => d.session.language),
        // Partials: greedy and once, whatever the stream asked for; finals decode as offline transcription does.
        final ? { ...transcribe, fallback: true } : { ...transcribe, beamSize: 1, wordTimestamps: false, fallback: false },
      );
    } catch (err) {
      for (const d of group) this.fail(d.id, err);
      return;
    }
    group.forEach((d, i) => {
      // A stream closed while its decode ran is gone; its result goes nowhere.
      if (this.sessions.get(d.id) !== d.session) return;
      if (final) for (const message of d.session.final(d.event, results[i])) this.emit(d.id, message);
      else {
        const message = d.session.partial(d.event, results[i]);
        if (message) this.emit(d.id, message);
      }
    });
  }

  private fail(id: number, err: unknown): void {
    if (!this.sessions.delete(id)) return;
    const code = err instanceof EarshotError ? err.code : 'internal';
    this.emit(id, { type: 'error', code, message: (err as Error).message });
  }
}

/** Clips batch together when they need the same model and the same decoding. */
function batchKey(d: DueDecode): string {
  const t = d.session.options.transcribe;
  // The decoder fields of sensory-transcription clients (schedule, thresholds, …) decide a decode too.
  const decoder = [t.temperatures, t.bestOf, t.patience, t.compressionRatioThreshold, t.logProbThreshold, t.noSpeechThreshold, t.withoutTimestamps, t.maxNewTokens];
  return d.event.kind === 'final'
    ? JSON.stringify(['final', t.model, t.task, t.beamSize, t.temperature, t.wordTimestamps, t.initialPrompt, ...decoder])
    : JSON.stringify(['partial', t.model, t.task, t.temperature, t.initialPrompt, ...decoder]);
}
