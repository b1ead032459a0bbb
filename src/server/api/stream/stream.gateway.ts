import type { IncomingMessage } from 'node:http';
import { type OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import { type RawData, WebSocket } from 'ws';
import { StreamService } from '../../core/stream/stream-service';
import { Metrics } from '../../infra/metrics/metrics';
import { describeError } from '../errors';
import { Access, declaredAccess } from '../security/access';
import { ApiKeys } from '../security/api-keys';
import { AudioBudget } from '../security/audio-budget';

/** Close code for a refused key: policy violation. */
const POLICY_VIOLATION = 1008;

/**
 * /v1/ws: checks the caller's API key against the access declared here on the upgrade request (the HTTP hooks never
 * see it), then binds the socket to a StreamConnection, which holds the protocol. Browsers, which cannot set headers
 * on a WebSocket, may pass the key as `?api_key=`.
 */
@Access('process')
@WebSocketGateway({ path: '/v1/ws' })
export class StreamGateway implements OnGatewayConnection {
  constructor(
    private readonly streams: StreamService,
    private readonly keys: ApiKeys,
    private readonly budget: AudioBudget,
    private readonly metrics: Metrics,
  ) {}

  handleConnection(client: WebSocket, request: IncomingMessage): void {
    const refuse = (err: unknown) => {
      const { body } = describeError(err);
      this.metrics.errorSent(body.error.code);
      if (client.readyState === WebSocket.OPEN) client.send(JSON.stringify({ type: 'error', ...body.error }));
      client.close(POLICY_VIOLATION);
    };
    let principal;
    try {
      principal = this.keys.principalFor(headersWithQueryKey(request), declaredAccess(StreamGateway));
    } catch (err) {
      refuse(err);
      return;
    }
    const connection = this.streams.connect({
      send: (message) => {
        if (message.type === 'error') this.metrics.errorSent(message.code);
        if (client.readyState === WebSocket.OPEN) client.send(JSON.stringify(message));
      },
      close: (code) => client.close(code),
    });
    if (!connection) return;
    this.metrics.activeStreams.inc();
    // Handlers go on at once so the first frame is not missed while the (possibly remote) budget is read.
    client.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) connection.onBinary(bytes);
      else void connection.onText(bytes.toString('utf8'));
    });
    client.on('close', () => {
      this.metrics.activeStreams.dec();
      connection.disconnect();
    });
    this.budget.check(principal).catch(refuse);
  }
}

function headersWithQueryKey(request: IncomingMessage): IncomingMessage['headers'] {
  const key = new URL(request.url ?? '/', 'http://localhost').searchParams.get('api_key');
  return key && !request.headers['x-api-key'] ? { ...request.headers, 'x-api-key': key } : request.headers;
}
