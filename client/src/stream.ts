import { on, once } from 'node:events';
import WebSocket from 'ws';
import type { ProcessSettings, StreamServerMessage } from '../../libs/contracts/process.js';
import { EarshotConnectionError, EarshotError } from './errors.js';

export interface StreamOptions {
  /**
   * `tra` (and `dia`) settings, as for /v1/process; tasks default to transcribe. With the diarization task,
   * `dia.speakers` names the key's enrolled voices: finals then carry `speaker` (the name), `speaker_id`, `match_score`.
   */
  settings?: Partial<ProcessSettings>;
  /** Sample rate of the PCM16 audio; default 16000. */
  sampleRate?: number;
  signal?: AbortSignal;
}

/**
 * What a live transcription yields: partial hypotheses while speech goes on, a final segment at each utterance end,
 * (with the emotion task) an `emotion` event for a final whose emotion was not ready within ~0.3 s of its text, and
 * (with the diarization task) a `relabel` event when the stream so far puts an earlier segment with another speaker.
 */
export type StreamEvent = Extract<StreamServerMessage, { type: 'partial' | 'final' | 'emotion' | 'relabel' }>;

/** One /v1/ws session: the start frame, the audio as binary frames, `end`; the server's events until `done`. */
export async function* openStream(
  url: string,
  headers: Record<string, string>,
  audio: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: StreamOptions,
): AsyncGenerator<StreamEvent> {
  options.signal?.throwIfAborted();
  const socket = new WebSocket(url, { headers });
  const abort = () => socket.terminate();
  options.signal?.addEventListener('abort', abort, { once: true });
  // Listening before the socket opens: no frame is missed, and a failed connection ends the loop below with its error.
  const frames = on(socket, 'message', { close: ['close'] }) as AsyncIterableIterator<[WebSocket.RawData, boolean]>;
  let sending: Promise<void> | undefined;
  try {
    try {
      await once(socket, 'open');
    } catch (err) {
      throw new EarshotConnectionError(err);
    }
    const settings = { tasks: ['transcribe'], ...options.settings };
    socket.send(JSON.stringify({ settings, sample_rate: options.sampleRate ?? 16000 }));
    sending = (async () => {
      for await (const chunk of audio) {
        if (socket.readyState !== WebSocket.OPEN) return;
        socket.send(chunk);
      }
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'end' }));
    })();
    // A failure to read the audio closes the session; it is reported once the frames loop ends.
    sending.catch(() => socket.close());
    let done = false;
    try {
      for await (const [data] of frames) {
        const message = JSON.parse(data.toString()) as StreamServerMessage;
        if (message.type === 'partial' || message.type === 'final' || message.type === 'emotion' || message.type === 'relabel') yield message;
        else if (message.type === 'error') throw new EarshotError(message.code, message.message);
        else if (message.type === 'done') {
          done = true;
          break;
        }
      }
    } catch (err) {
      if (err instanceof EarshotError) throw err;
      options.signal?.throwIfAborted();
      throw new EarshotConnectionError(err);
    }
    options.signal?.throwIfAborted();
    await sending;
    if (!done) throw new EarshotConnectionError(new Error('the server closed the stream before it was done'));
  } finally {
    options.signal?.removeEventListener('abort', abort);
    socket.on('error', () => undefined); // closing a socket that is still connecting reports an error nobody needs
    if (socket.readyState === WebSocket.OPEN) socket.close();
    else if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    await sending?.catch(() => undefined);
  }
}
