import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';

/**
 * The ws adapter on the Fastify app's HTTP server. Frames are handled by the gateway itself (binary audio and
 * text control frames), not by Nest's JSON event routing. Frames over the stream limit get an error frame from
 * the gateway; the transport cuts anything far beyond it (close 1009) before it is buffered.
 */
export class StreamWsAdapter extends WsAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly maxFrameBytes: number,
  ) {
    super(app, { messageParser: () => undefined });
  }

  override create(port: number, options: Record<string, unknown> & { path?: string } = {}): unknown {
    return super.create(port, { ...options, maxPayload: 4 * this.maxFrameBytes });
  }
}
