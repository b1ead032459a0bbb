import WebSocket from 'ws';
import type { StreamServerMessage } from '../../libs/contracts/process';

export interface StreamRun {
  messages: StreamServerMessage[];
  closeCode: number;
}

/** A /v1/ws client that records every message and the close code; `apiKey` goes as `?api_key=`, as browsers send it. */
export class StreamClient {
  readonly messages: StreamServerMessage[] = [];
  readonly closed: Promise<number>;
  private readonly socket: WebSocket;
  private readonly opened: Promise<void>;

  constructor(baseUrl: string, apiKey?: string) {
    this.socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/ws${apiKey ? `?api_key=${encodeURIComponent(apiKey)}` : ''}`);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('message', (data) => this.messages.push(JSON.parse(data.toString()) as StreamServerMessage));
    this.closed = new Promise((resolve) => this.socket.once('close', (code) => resolve(code)));
  }

  async open(): Promise<this> {
    await this.opened;
    return this;
  }

  send(data: string | Uint8Array | object): void {
    this.socket.send(typeof data === 'object' && !(data instanceof Uint8Array) ? JSON.stringify(data) : data);
  }

  /** Resolves with the first message of that type (or fails when the socket closes first). */
  async next(type: StreamServerMessage['type'], timeoutMs = 120_000): Promise<StreamServerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find((m) => m.type === type);
      if (found) return found;
      if (this.socket.readyState === WebSocket.CLOSED) throw new Error(`closed before a "${type}" message: ${JSON.stringify(this.messages)}`);
      if (Date.now() > deadline) throw new Error(`no "${type}" message in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  terminate(): void {
    this.socket.terminate();
  }
}

/** PCM16 little-endian bytes of float samples. */
export function toPcm16(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  samples.forEach((s, i) => view.setInt16(2 * i, Math.max(-32768, Math.min(32767, Math.round(s * 32768))), true));
  return out;
}

/**
 * Streams `pcm` in frames of `frameMs` and ends the stream; `paceMs` between frames (0: as fast as the socket takes
 * them, faster than real time). Resolves with everything the server sent once it closed.
 */
export async function streamAudio(
  baseUrl: string,
  start: object,
  pcm: Uint8Array,
  sampleRate: number,
  opts: { frameMs?: number; paceMs?: number; apiKey?: string } = {},
): Promise<StreamRun> {
  const client = await new StreamClient(baseUrl, opts.apiKey).open();
  client.send(start);
  const frameBytes = Math.round((sampleRate * (opts.frameMs ?? 100)) / 1000) * 2;
  for (let at = 0; at < pcm.length; at += frameBytes) {
    client.send(pcm.subarray(at, at + frameBytes));
    if (opts.paceMs) await new Promise((r) => setTimeout(r, opts.paceMs));
  }
  client.send({ type: 'end' });
  const closeCode = await client.closed;
  return { messages: client.messages, closeCode };
}
