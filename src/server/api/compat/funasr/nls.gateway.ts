import type { IncomingMessage } from 'node:http';
import { type OnGatewayConnection, WebSocketGateway } from '@nestjs/websockets';
import { type RawData, WebSocket } from 'ws';
import { EarshotError } from '../../../../contract/errors';
import { CLOSE_CODES, StreamService } from '../../../core/stream/stream-service';
import { Metrics } from '../../../infra/metrics/metrics';
import { describeError } from '../../errors';
import { ApiKeys } from '../../security/api-keys';
import { Access, declaredAccess } from '../../security/access';
import { AudioBudget } from '../../security/audio-budget';
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
  constructor(
    private readonly streams: StreamService,
    private readonly keys: ApiKeys,
    private readonly budget: AudioBudget,
    private readonly metrics: Metrics,
  ) {}

  handleConnection(client: WebSocket, request: IncomingMessage): void {
    const translator = new NlsTranslator();
    const send = (frame: object) => {
      if (client.readyState === WebSocket.OPEN) client.send(JSON.stringify(frame));
    };
    const refuse = (err: unknown) => {
      const { body } = describeError(err);
      this.metrics.errorSent(body.error.code);
      send(translator.failed(body.error.code, body.error.message));
      client.close(CLOSE_CODES.policy);
    };
    let principal;
    try {
      principal = this.keys.principalFor(headersWithNlsToken(request), declaredAccess(NlsGateway));
    } catch (err) {
      refuse(err);
      return;
    }
    const connection = this.streams.connect({
      send: (message) => {
        if (message.type === 'error') this.metrics.errorSent(message.code);
        for (const frame of translator.frames(message)) send(frame);
      },
      close: (code) => client.close(code),
    });
    if (!connection) return;
    this.metrics.activeStreams.inc();
    let started = false;
    client.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) return connection.onBinary(bytes);
      let command;
      try {
        command = parseNlsCommand(bytes.toString('utf8'));
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
    });
    client.on('close', () => {
      this.metrics.activeStreams.dec();
      connection.disconnect();
    });
    this.budget.check(principal).catch(refuse);
  }
}

/** The SDKs send their token as `X-NLS-Token` (read as the API key everywhere); browsers, which cannot, as `?token=`. */
function headersWithNlsToken(request: IncomingMessage): IncomingMessage['headers'] {
  const token = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token');
  return token && !request.headers['x-nls-token'] ? { ...request.headers, 'x-nls-token': token } : request.headers;
}
