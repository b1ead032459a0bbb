import { type OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import { type RawData, WebSocket } from 'ws';
import { StreamService } from '../../core/stream/stream-service';

/** /v1/ws: binds each socket to a StreamConnection, which holds the protocol. */
@WebSocketGateway({ path: '/v1/ws' })
export class StreamGateway implements OnGatewayConnection {
  constructor(private readonly streams: StreamService) {}

  handleConnection(client: WebSocket): void {
    const connection = this.streams.connect({
      send: (message) => {
        if (client.readyState === WebSocket.OPEN) client.send(JSON.stringify(message));
      },
      close: (code) => client.close(code),
    });
    if (!connection) return;
    client.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) connection.onBinary(bytes);
      else void connection.onText(bytes.toString('utf8'));
    });
    client.on('close', () => connection.disconnect());
  }
}
