import type { IncomingMessage } from 'node:http';
import { Injectable } from '@nestjs/common';
import { type RawData, WebSocket } from 'ws';
import type { StreamServerMessage } from '../../../../libs/contracts/process';
import { CLOSE_CODES, type StreamConnection, StreamService } from '../../core/stream/stream-service';
import { Metrics } from '../../infra/metrics/metrics';
import { describeError } from '../errors';
import type { RouteAccess } from '../security/access';
import { ApiKeys } from '../security/api-keys';
import { AudioBudget } from '../security/audio-budget';

/** What one WebSocket protocol over Earshot's streams writes and reads (/v1/ws's JSON, NLS frames, …). */
export interface StreamProtocol {
  /** The stream's messages as this protocol's text frames. */
  frames(message: StreamServerMessage): object[];
  /** A refused connection (bad key, spent budget) as this protocol's frame. */
  refusal(code: string, message: string): object;
  /** A text frame from the client. */
  onText(text: string, socket: BoundSocket): void;
}

/** What a protocol may do with its socket while reading a frame. */
export interface BoundSocket {
  connection: StreamConnection;
  /** Sends one of the protocol's frames. */
  send: (frame: object) => void;
  /** Refuses the rest of the connection: the protocol's refusal frame, then a close. */
  refuse: (err: unknown) => void;
}

/**
 * Binds an accepted WebSocket to a stream, the same way for every protocol: checks the API key against the gateway's
 * declared access on the upgrade request (the HTTP hooks never see it), counts the stream and its errors, feeds it the
 * client's frames, and checks the key's audio budget.
 */
@Injectable()
export class StreamSocketBinder {
  constructor(
    private readonly streams: StreamService,
    private readonly keys: ApiKeys,
    private readonly budget: AudioBudget,
    private readonly metrics: Metrics,
  ) {}

  bind(client: WebSocket, headers: IncomingMessage['headers'], access: RouteAccess, protocol: StreamProtocol): void {
    const send = (frame: object) => {
      if (client.readyState === WebSocket.OPEN) client.send(JSON.stringify(frame));
    };
    const refuse = (err: unknown) => {
      const { body } = describeError(err);
      this.metrics.errorSent(body.error.code);
      send(protocol.refusal(body.error.code, body.error.message));
      client.close(CLOSE_CODES.policy);
    };
    let principal;
    try {
      principal = this.keys.principalFor(headers, access);
    } catch (err) {
      refuse(err);
      return;
    }
    const connection = this.streams.connect(
      {
        send: (message) => {
          if (message.type === 'error') this.metrics.errorSent(message.code);
          for (const frame of protocol.frames(message)) send(frame);
        },
        close: (code) => client.close(code),
      },
      principal.id,
    );
    if (!connection) return;
    this.metrics.activeStreams.inc();
    // Handlers go on at once so the first frame is not missed while the (possibly remote) budget is read.
    client.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) connection.onBinary(bytes);
      else protocol.onText(bytes.toString('utf8'), { connection, send, refuse });
    });
    client.on('close', () => {
      this.metrics.activeStreams.dec();
      connection.disconnect();
    });
    this.budget.check(principal).catch(refuse);
  }
}
