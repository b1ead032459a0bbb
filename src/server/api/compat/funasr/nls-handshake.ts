import type { IncomingMessage, Server } from 'node:http';

const NLS_WS_PATH = '/ws/v1/asr';

/**
 * The Python NLS SDK (alibabacloud-nls-python-sdk) sends its own fixed `Sec-WebSocket-Key` and `Sec-WebSocket-Version`
 * after the ones its WebSocket library generates; Node joins the duplicates ("k1, k2"), which `ws` refuses with 400.
 * On /ws/v1/asr the first of each is kept: the generated key, the one the client checks the accept hash against.
 */
export function acceptNlsHandshakes(server: Server): void {
  server.prependListener('upgrade', (request: IncomingMessage) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== NLS_WS_PATH) return;
    for (const name of ['sec-websocket-key', 'sec-websocket-version']) {
      const value = request.headers[name];
      if (typeof value === 'string' && value.includes(',')) request.headers[name] = value.split(',')[0].trim();
    }
  });
}
