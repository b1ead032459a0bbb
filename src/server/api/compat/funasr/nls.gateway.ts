import type { IncomingMessage } from 'node:http';
import { type OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import type { WebSocket } from 'ws';
import { EarshotError } from '../../../../contract/errors';
import { Access, declaredAccess } from '../../security/access';
import { type StreamProtocol, StreamSocketBinder } from '../../stream/socket-binding';
import { NlsTranslator, parseNlsCommand } from './nls-protocol';

/** Audio formats a StartTranscription may name: raw PCM16 only, as the SDKs send by default. */
const NLS_FORMATS = new Set(['pcm']);
const DEFAULT_SAMPLE_RATE = 16000;

/**
 * /ws/v1/asr: Alibaba Cloud's real-time transcription protocol (as funasr-api serves it) over Earshot's streams.
 * StartTranscription opens a /v1/ws-style stream (transcription in the given sample rate), binary frames are its PCM
 * audio, StopTranscription flushes it; the stream's messages come back as NLS frames (NlsTranslator). The API key
 * is the SDK's token (`X-NLS-Token`), or the usual headers, or `?token=`.
 */
@Access('process')
@WebSocketGateway({ path: '/ws/v1/asr' })
export class NlsGateway implements OnGatewayConnection {
  constructor(private readonly sockets: StreamSocketBinder) {}

  handleConnection(client: WebSocket, request: IncomingMessage): void {
    this.sockets.bind(client, headersWithNlsToken(request), declaredAccess(NlsGateway), nlsProtocol());
  }
}

/** One connection's NLS protocol: its translator, and whether StartTranscription has opened the stream. */
function nlsProtocol(): StreamProtocol {
  const translator = new NlsTranslator();
  let started = false;
  return {
    frames: (message) => translator.frames(message),
    refusal: (code, message) => translator.failed(code, message),
    onText: (text, { connection, send, refuse }) => {
      let command;
      try {
        command = parseNlsCommand(text);
      } catch (err) {
        return send(translator.failed('invalid_request', (err as Error).message));
      }
      if (command.name === 'StartTranscription' && !started) {
        started = true;
        translator.startTask(command.taskId);
        const format = typeof command.payload.format === 'string' ? command.payload.format.toLowerCase() : 'pcm';
        if (!NLS_FORMATS.has(format)) {
          connection.disconnect();
          return refuse(new EarshotError('unsupported_audio', `format "${format}" is not supported on streams; send ${[...NLS_FORMATS].join(', ')}`));
        }
        const sampleRate = Number(command.payload.sample_rate ?? DEFAULT_SAMPLE_RATE);
        void connection.onText(JSON.stringify({ settings: { tasks: ['transcribe'] }, sample_rate: sampleRate }));
      } else if (command.name === 'StopTranscription') {
        void connection.onText(JSON.stringify({ type: 'end' }));
      } else if (command.name !== 'ControlTranscription') {
        send(translator.failed('invalid_request', `unexpected ${command.name}; send StartTranscription once, then audio, then StopTranscription`));
      }
    },
  };
}

/** The SDKs send their token as `X-NLS-Token` (read as the API key everywhere); browsers, which cannot, as `?token=`. */
function headersWithNlsToken(request: IncomingMessage): IncomingMessage['headers'] {
  const token = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token');
  return token && !request.headers['x-nls-token'] ? { ...request.headers, 'x-nls-token': token } : request.headers;
}
