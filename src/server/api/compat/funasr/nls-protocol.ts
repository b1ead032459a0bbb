/**
 * funasr-api's Alibaba Cloud–compatible shapes (Intelligent Speech Interaction, "NLS"): the REST answer of
 * POST /stream/v1/asr, the error body, and the real-time transcription frames of /ws/v1/asr. Pure functions and one
 * small stateful translator; no sockets here.
 */
import { randomUUID } from 'node:crypto';
import type { MergedSegment, ProcessResponse, StreamServerMessage, TranscriptSegment } from '../../../../../libs/contracts/process';

/** NLS status codes (the `status` of error bodies and of frame headers). */
export const NLS_STATUS = {
  success: 20000000,
  authenticationFailed: 40000001,
  invalidMessage: 40000002,
  invalidParameter: 40000003,
  idleTimeout: 40000004,
  tooManyRequests: 40000005,
  serverError: 50000000,
} as const;

/** An Earshot error code as the NLS status a client of that protocol understands. */
export function nlsStatusOf(code: string): number {
  switch (code) {
    case 'unauthorized':
    case 'forbidden':
      return NLS_STATUS.authenticationFailed;
    case 'unsupported_audio':
    case 'audio_too_large':
    case 'audio_too_long':
      return NLS_STATUS.invalidMessage;
    case 'idle_timeout':
      return NLS_STATUS.idleTimeout;
    case 'rate_limited':
    case 'overloaded':
      return NLS_STATUS.tooManyRequests;
    case 'internal':
    case 'not_ready':
    case 'timeout':
      return NLS_STATUS.serverError;
    default:
      return NLS_STATUS.invalidParameter;
  }
}

/** funasr-api's error body. */
export interface NlsErrorBody {
  task_id: string;
  result: '';
  status: number;
  message: string;
}

export function nlsErrorBody(taskId: string, code: string, message: string): NlsErrorBody {
  return { task_id: taskId, result: '', status: nlsStatusOf(code), message };
}

/** `vocabulary_id` ("word1 weight1 word2 weight2"): the words, as prompt hotwords (weights have no meaning to Whisper). */
export function hotwordsOf(vocabulary: string | undefined): string | undefined {
  const words = (vocabulary ?? '').split(/\s+/).filter((w) => w !== '' && !/^\d+(\.\d+)?$/.test(w));
  return words.length ? words.join(' ') : undefined;
}

export interface AsrSegment {
  text: string;
  start_time: number;
  end_time: number;
  speaker_id?: string;
  word_tokens?: Array<{ text: string; start_time: number; end_time: number }>;
}

export interface AsrResponse {
  task_id: string;
  result: string;
  status: 200;
  message: 'SUCCESS';
  segments: AsrSegment[];
  duration: number;
  processing_time: number;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The REST answer: with diarization the merged view's segments, their speakers named Speaker1, Speaker2, … in order
 * of appearance, and `result` one "SpeakerN text" line per segment; without it the transcript's segments.
 */
export function asrResponse(taskId: string, response: ProcessResponse, processingS: number, wordTimestamps: boolean): AsrResponse {
  const { tra, dia } = response.result;
  const names = new Map<string, string>();
  const nameOf = (speaker: string) => names.get(speaker) ?? names.set(speaker, `Speaker${names.size + 1}`).get(speaker)!;
  const source: Array<MergedSegment | TranscriptSegment> = dia ? (response.result.segments ?? []) : (tra?.segments ?? []);
  const segments = source.map((s): AsrSegment => ({
    text: s.text,
    start_time: round(s.start, 2),
    end_time: round(s.end, 2),
    ...('speaker' in s && s.speaker !== undefined ? { speaker_id: nameOf(s.speaker) } : {}),
    ...(wordTimestamps && s.words ? { word_tokens: s.words.map((w) => ({ text: w.word, start_time: round(w.start, 3), end_time: round(w.end, 3) })) } : {}),
  }));
  const result = dia ? segments.map((s) => (s.speaker_id ? `${s.speaker_id} ${s.text}` : s.text)).join('\n') : (tra?.text ?? '');
  return {
    task_id: taskId,
    result,
    status: 200,
    message: 'SUCCESS',
    segments,
    duration: round(response.audio.duration_s, 2),
    processing_time: round(processingS, 3),
  };
}

/** A client frame of the real-time transcription protocol. */
export interface NlsCommand {
  name: string;
  taskId: string;
  payload: Record<string, unknown>;
}

/** A text frame as a command; throws with a message when it is not one. */
export function parseNlsCommand(text: string): NlsCommand {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch (err) {
    throw new Error(`the frame is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const header = (frame as { header?: Record<string, unknown> } | null)?.header;
  if (typeof header !== 'object' || header === null || typeof header.name !== 'string') {
    throw new Error('the frame needs a header with a name (StartTranscription, StopTranscription)');
  }
  const payload = (frame as { payload?: unknown }).payload;
  return {
    name: header.name,
    taskId: typeof header.task_id === 'string' ? header.task_id : '',
    payload: typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {},
  };
}

export interface NlsFrame {
  header: { namespace: 'SpeechTranscriber'; name: string; status: number; message_id: string; task_id: string; status_text: string };
  payload: Record<string, unknown>;
}

const ms = (seconds: number) => Math.round(seconds * 1000);

/**
 * Earshot's stream messages as NLS frames for one task: ready → TranscriptionStarted; the first partial or final of
 * a sentence opens it with SentenceBegin; partials → TranscriptionResultChanged; finals → SentenceEnd; done →
 * TranscriptionCompleted; an error → TaskFailed. Times are milliseconds from the start of the stream.
 */
export class NlsTranslator {
  private index = 1;
  private open = false;

  constructor(private taskId = '') {}

  startTask(taskId: string): void {
    this.taskId = taskId;
  }

  frames(message: StreamServerMessage): NlsFrame[] {
    switch (message.type) {
      case 'ready':
        return [this.frame('TranscriptionStarted', { session_id: this.taskId })];
      case 'partial':
        return [
          ...this.begin(message.start),
          this.frame('TranscriptionResultChanged', { index: this.index, time: ms(message.end), result: message.text, words: [] }),
        ];
      case 'final': {
        const s = message.segment;
        const frames = [
          ...this.begin(s.start),
          this.frame('SentenceEnd', {
            index: this.index,
            time: ms(s.end),
            begin_time: ms(s.start),
            result: s.text,
            confidence: round(Math.exp(s.avg_logprob), 4),
            words: (s.words ?? []).map((w) => ({ text: w.word, startTime: ms(w.start), endTime: ms(w.end) })),
            status: 0,
          }),
        ];
        this.index++;
        this.open = false;
        return frames;
      }
      case 'emotion':
      case 'relabel':
        return []; // NLS has no emotion or speaker frames (and NLS streams ask for neither)
      case 'done':
        return [this.frame('TranscriptionCompleted', {})];
      case 'error':
        return [this.failed(message.code, message.message)];
    }
  }

  failed(code: string, message: string): NlsFrame {
    return this.frame('TaskFailed', {}, nlsStatusOf(code), message);
  }

  private begin(start: number): NlsFrame[] {
    if (this.open) return [];
    this.open = true;
    return [this.frame('SentenceBegin', { index: this.index, time: ms(start) })];
  }

  private frame(name: string, payload: Record<string, unknown>, status: number = NLS_STATUS.success, statusText = 'Gateway:SUCCESS:Success.'): NlsFrame {
    return {
      header: { namespace: 'SpeechTranscriber', name, status, message_id: randomUUID().replace(/-/g, ''), task_id: this.taskId, status_text: statusText },
      payload,
    };
  }
}
