import type { IncomingMessage } from 'node:http';
import { type OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import { Access, declaredAccess } from '../security/access';
import { type StreamProtocol, StreamSocketBinder } from './socket-binding';

/** /v1/ws's own protocol: the stream's messages as they are, JSON text frames handed to the stream. */
const NATIVE_PROTOCOL: StreamProtocol = {
  frames: (message) => [message],
  refusal: (code, message) => ({ type: 'error', code, message }),
  onText: (text, { connection }) => void connection.onText(text),
};

/**
 * /v1/ws: binds each socket to a StreamConnection, which holds the protocol. Browsers, which cannot set headers on a
 * WebSocket, may pass the key as `?api_key=`.
 */
@Access('process')
@WebSocketGateway({ path: '/v1/ws' })
export class StreamGateway implements OnGatewayConnection {
  constructor(private readonly sockets: StreamSocketBinder) {}

  handleConnection(client: WebSocket, request: IncomingMessage): void {
    this.sockets.bind(client, headersWithQueryKey(request), declaredAccess(StreamGateway), NATIVE_PROTOCOL);
  }
}

function headersWithQueryKey(request: IncomingMessage): IncomingMessage['headers'] {
  const key = new URL(request.url ?? '/', 'http://localhost').searchParams.get('api_key');
  return key && !request.headers['x-api-key'] ? { ...request.headers, 'x-api-key': key } : request.headers;
}
