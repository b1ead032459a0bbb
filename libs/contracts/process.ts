/** Wire types of the v1 API (../shared/design/api.md), shared by the server and the client SDK. snake_case as on the wire. */

export const TASKS = ['transcribe', 'diarization', 'emotion'] as const;
export type TaskName = (typeof TASKS)[number];

export const OUTPUT_FORMATS = ['json', 'text', 'srt', 'vtt'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface TranscribeSettings {
  model?: string;
  /** ISO code such as "en", or "auto" to detect. */
  language?: string;
  task?: 'transcribe' | 'translate';
  beam_size?: number;
  temperature?: number;
  word_timestamps?: boolean;
  initial_prompt?: string | null;
  vad_filter?: boolean;
}

export interface ProcessSettings {
  tasks: TaskName[];
  tra?: TranscribeSettings;
  dia?: Record<string, unknown>;
  emo?: Record<string, unknown>;
}

export interface ProcessRequest {
  settings: ProcessSettings;
  format_output?: OutputFormat;
  async_process?: boolean;
  callback_url?: string | null;
}

export interface Word {
  word: string;
  start: number;
  end: number;
  prob: number;
}

export interface TranscriptSegment {
  id: number;
  start: number;
  end: number;
  text: string;
  avg_logprob: number;
  no_speech_prob: number;
  /** Compression ratio of the text (high means repetitive). */
  compression_ratio: number;
  /** Decoding temperature that produced the segment (above 0 after a fallback). */
  temperature: number;
  words?: Word[];
}

export interface TranscriptionResult {
  language: string;
  /** Probability of the detected language; 1 when the language was given. */
  language_prob: number;
  text: string;
  segments: TranscriptSegment[];
}

export interface ProcessResponse {
  status: 'completed';
  request_id: string;
  audio: { duration_s: number; sample_rate: number; channels: number };
  timings_ms: Record<string, number>;
  result: { tra?: TranscriptionResult };
}

export interface ErrorBody {
  error: { code: string; message: string };
}
