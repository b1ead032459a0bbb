import type { StreamServerMessage } from '../../../../libs/contracts/process';
import { WHISPER_SAMPLE_RATE } from '../../../../libs/features/mel';
import { EarshotError } from '../../../contract/errors';
import type { StreamOptions } from '../../../contract/engine-types';
import { StreamingResampler } from './streaming-resampler';

/** Input rates a stream may declare; everything is resampled to 16 kHz. */
export const STREAM_SAMPLE_RATES = [8000, 16000, 44100, 48000] as const;

/** WebSocket close codes (RFC 6455) the service uses. */
export const CLOSE_CODES = {
  normal: 1000,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  tryAgainLater: 1013,
} as const;

/** Where streams run (the inference worker). */
export interface StreamEngine {
  openStream(options: StreamOptions, onMessage: (message: StreamServerMessage) => void): Promise<number>;
  pushStreamAudio(streamId: number, samples: Float32Array): void;
  endStream(streamId: number): void;
  closeStream(streamId: number): void;
  streamStats(): Promise<{ streams: number }>;
}

/** The client end of one connection. */
export interface StreamSocket {
  send(message: StreamServerMessage): void;
  close(code: number): void;
}

/** A validated first frame: the stream's settings with defaults filled in, and the input sample rate. */
export interface StreamStart {
  transcribe: StreamOptions['transcribe'];
  speakers?: StreamOptions['speakers'];
  emotion?: StreamOptions['emotion'];
  sampleRate: number;
}

/**
 * Turns the first text frame into settings, or throws an EarshotError saying what is wrong with it; `tenant` (the
 * API key's) is whose enrolled speakers dia.speakers names.
 */
export type StreamStartParser = (text: string, tenant: string) => Promise<StreamStart>;

export interface StreamLimits {
  maxStreams: number;
  maxFrameBytes: number;
  maxBufferedSeconds: number;
  idleTimeoutMs: number;
}

/** The close code that goes with an error code. */
function closeCodeOf(code: string): number {
  if (code === 'overloaded') return CLOSE_CODES.tryAgainLater;
  if (code === 'audio_too_large') return CLOSE_CODES.tooBig;
  if (code === 'internal') return CLOSE_CODES.internal;
  return CLOSE_CODES.policy;
}

/** /v1/ws without WebSocket types: admission against the limits, and the connections it admitted. */
export class StreamService {
  private active = 0;

  constructor(
    private readonly engine: StreamEngine,
    private readonly parseStart: StreamStartParser,
    readonly limits: StreamLimits,
  ) {}

  /**
   * A new connection of `tenant` (the API key's), or null when there are already maxStreams (the socket got an error
   * frame and 1013).
   */
  connect(socket: StreamSocket, tenant: string): StreamConnection | null {
    if (this.active >= this.limits.maxStreams) {
      socket.send({
        type: 'error',
        code: 'overloaded',
        message: `the service already serves ${this.limits.maxStreams} streams (WS_MAX_STREAMS); try again later`,
      });
      socket.close(CLOSE_CODES.tryAgainLater);
      return null;
    }
    this.active++;
    return new StreamConnection(socket, tenant, this.engine, this.parseStart, this.limits, () => this.active--);
  }

  /** Connections open here, and streams the inference worker holds: both 0 when nothing is streaming. */
  async stats(): Promise<{ active_streams: number; worker_streams: number; max_streams: number }> {
    const { streams } = await this.engine.streamStats();
    return { active_streams: this.active, worker_streams: streams, max_streams: this.limits.maxStreams };
  }
}

type State = 'awaiting-start' | 'opening' | 'streaming' | 'ending' | 'closed';

/**
 * One /v1/ws connection: the first text frame starts it, binary frames are PCM16 audio, {"type":"end"} or an empty
 * binary frame (the seed contract's end of audio) flushes.
 * Audio is resampled to 16 kHz here (cheap) and passed to the worker, whose messages go straight to the client.
 * Bad frames mid-stream get an error frame and are ignored; anything that makes the stream unusable closes it.
 */
export class StreamConnection {
  private state: State = 'awaiting-start';
  private streamId = -1;
  private resampler: StreamingResampler | null = null;
  /** Frames that came while the stream was opening (settings checked, model loading). */
  private early: Uint8Array[] = [];
  private earlyBytes = 0;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly socket: StreamSocket,
    private readonly tenant: string,
    private readonly engine: StreamEngine,
    private readonly parseStart: StreamStartParser,
    private readonly limits: StreamLimits,
    private readonly onClosed: () => void,
  ) {
    this.touch();
  }

  async onText(text: string): Promise<void> {
    if (this.state === 'closed') return;
    this.touch();
    if (this.state === 'awaiting-start') return this.start(text);
    let control: unknown;
    try {
      control = JSON.parse(text);
    } catch {
      control = null;
    }
    if (typeof control === 'object' && control !== null && (control as { type?: unknown }).type === 'end') return this.end();
    this.socket.send({ type: 'error', code: 'invalid_request', message: 'text frames after the first must be {"type":"end"}; the frame was ignored' });
  }

  onBinary(bytes: Uint8Array): void {
    if (this.state === 'closed') return;
    this.touch();
    if (bytes.byteLength === 0 && this.state !== 'awaiting-start') return this.end();
    if (bytes.byteLength > this.limits.maxFrameBytes) {
      return this.fail('audio_too_large', `a frame of ${bytes.byteLength} bytes is over the limit of ${this.limits.maxFrameBytes} (WS_MAX_FRAME_BYTES)`);
    }
    if (this.state === 'awaiting-start') {
      return this.fail('invalid_request', 'the first frame must be a text frame with the settings and sample_rate');
    }
    if (this.state === 'ending') {
      this.socket.send({ type: 'error', code: 'invalid_request', message: 'audio after {"type":"end"} was ignored' });
      return;
    }
    if (bytes.byteLength % 2 !== 0) {
      this.socket.send({
        type: 'error',
        code: 'invalid_request',
        message: `a frame of ${bytes.byteLength} bytes is not whole PCM16 samples; the frame was ignored`,
      });
      return;
    }
    if (this.state === 'streaming') {
      this.sendAudio(bytes);
      return;
    }
    this.earlyBytes += bytes.byteLength;
    const limit = this.limits.maxBufferedSeconds * Math.max(...STREAM_SAMPLE_RATES) * 2;
    if (this.earlyBytes > limit) {
      return this.fail('overloaded', `more than ${this.limits.maxBufferedSeconds} s of audio arrived before the stream was ready`);
    }
    this.early.push(Uint8Array.from(bytes));
  }

  /** The client went away: the worker forgets the stream at once. */
  disconnect(): void {
    if (this.state === 'closed') return;
    const opened = this.state === 'streaming' || this.state === 'ending';
    this.release();
    if (opened) this.engine.closeStream(this.streamId);
  }

  private async start(text: string): Promise<void> {
    this.state = 'opening';
    let start: StreamStart;
    try {
      start = await this.parseStart(text, this.tenant);
    } catch (err) {
      return this.fail(err instanceof EarshotError ? err.code : 'invalid_request', (err as Error).message);
    }
    if ((this.state as State) === 'closed') return;
    this.resampler = new StreamingResampler(start.sampleRate, WHISPER_SAMPLE_RATE);
    try {
      const { transcribe, speakers, emotion } = start;
      this.streamId = await this.engine.openStream(
        {
          transcribe,
          ...(speakers ? { speakers } : {}),
          ...(emotion ? { emotion } : {}),
          maxBufferedSamples: this.limits.maxBufferedSeconds * WHISPER_SAMPLE_RATE,
        },
        (message) => this.fromWorker(message),
      );
    } catch (err) {
      return this.fail(err instanceof EarshotError ? err.code : 'internal', (err as Error).message);
    }
    // The state may have moved on while the model loaded.
    const now = this.state as State;
    if (now === 'closed') {
      this.engine.closeStream(this.streamId);
      return;
    }
    const wasEnding = now === 'ending';
    this.state = 'streaming';
    this.socket.send({ type: 'ready' });
    for (const bytes of this.early) this.sendAudio(bytes);
    this.early = [];
    if (wasEnding) this.end();
  }

  private sendAudio(bytes: Uint8Array): void {
    const samples = this.resampler!.push(pcm16ToFloat(bytes));
    if (samples.length) this.engine.pushStreamAudio(this.streamId, samples);
  }

  private end(): void {
    if (this.state === 'opening') {
      this.state = 'ending';
      return;
    }
    if (this.state !== 'streaming') return;
    this.state = 'ending';
    // The client now only waits for the flush.
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const rest = this.resampler!.flush();
    if (rest.length) this.engine.pushStreamAudio(this.streamId, rest);
    this.engine.endStream(this.streamId);
  }

  private fromWorker(message: StreamServerMessage): void {
    if (this.state === 'closed') return;
    this.socket.send(message);
    if (message.type === 'done') {
      this.release();
      this.socket.close(CLOSE_CODES.normal);
    } else if (message.type === 'error') {
      this.release();
      this.socket.close(closeCodeOf(message.code));
    }
  }

  /** Error frame, then close; the worker forgets the stream if it had it. */
  private fail(code: string, message: string): void {
    if (this.state === 'closed') return;
    const opened = this.state === 'streaming' || this.state === 'ending';
    this.release();
    if (opened) this.engine.closeStream(this.streamId);
    this.socket.send({ type: 'error', code, message });
    this.socket.close(closeCodeOf(code));
  }

  private touch(): void {
    if (this.state === 'ending') return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(
      () => this.fail('idle_timeout', `no frame for ${this.limits.idleTimeoutMs / 1000} s (WS_IDLE_TIMEOUT_S)`),
      this.limits.idleTimeoutMs,
    );
  }

  private release(): void {
    this.state = 'closed';
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.early = [];
    this.onClosed();
  }
}

/** PCM16 little-endian → float samples in [-1, 1). */
export function pcm16ToFloat(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(2 * i, true) / 32768;
  return out;
}
