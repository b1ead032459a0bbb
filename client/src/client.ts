import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  EnrolledSpeaker,
  HealthReport,
  Job,
  JobAccepted,
  JobDeleted,
  JobList,
  JobStatus,
  ModelList,
  OutputFormat,
  ProcessRequest,
  ProcessResponse,
  SpeakerList,
  TranscribeSettings,
  TranscriptionResult,
} from '../../libs/contracts/process.js';
import { type AudioInput, multipartBody } from './audio-body.js';
import { EarshotJobError } from './errors.js';
import { type RetryPolicy, send } from './request.js';
import { type StreamEvent, type StreamOptions, openStream } from './stream.js';

export interface EarshotClientOptions {
  /** Where the service listens, e.g. http://localhost:8000. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Longest wait for one attempt of one call, the answer's body included; default 10 minutes. */
  timeoutMs?: number;
  /** Retries on 429 and 503 (after Retry-After, or exponential backoff with jitter); default 3. */
  maxRetries?: number;
  /** First backoff when the server gives no Retry-After; default 500 ms, doubled each retry. */
  retryBaseDelayMs?: number;
  /** Longest wait between retries; default 30 s. */
  maxRetryDelayMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** This call's attempt timeout instead of the client's. */
  timeoutMs?: number;
}

export interface SubmitOptions extends CallOptions {
  /** Makes the submit safe to repeat: the same key gives back the job it first created. Default: a fresh UUID, so the SDK's own retries never queue a job twice. */
  idempotencyKey?: string;
}

export interface WaitOptions {
  /** Called with each new progress value (0..1) and the job as it was polled. */
  onProgress?: (progress: number, job: Job) => void;
  signal?: AbortSignal;
  /** Time between polls; default 1000 ms. */
  pollIntervalMs?: number;
}

export interface ListJobsQuery {
  status?: JobStatus;
  /** 1..100, default 20. */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

export interface EnrolOptions extends CallOptions {
  /** A JSON object kept with the speaker. */
  metadata?: Record<string, unknown>;
  /** Keep the enrolment audio too (default: only the voiceprint is stored). */
  keepAudio?: boolean;
}

type TextFormat = Exclude<OutputFormat, 'json'>;

const FINISHED: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);
const DEFAULT_REQUEST: ProcessRequest = { settings: { tasks: ['transcribe'] } };

/** The Earshot API from TypeScript: typed requests and answers, typed errors, retries, timeouts, cancellation. */
export class EarshotClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly headers: Record<string, string>;

  constructor(options: EarshotClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 600_000;
    this.retry = {
      maxRetries: options.maxRetries ?? 3,
      baseDelayMs: options.retryBaseDelayMs ?? 500,
      maxDelayMs: options.maxRetryDelayMs ?? 30_000,
    };
    this.headers = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  }

  /**
   * Known speakers (needs a key with the `speakers` scope): enrol a voice once, then name it in any diarization
   * with `settings.dia.speakers`.
   */
  readonly speakers = {
    /** POST /v1/speakers: stores the voiceprint of one speaker's audio (refused, 422, when it holds no clear single voice). */
    enrol: async (name: string, audio: AudioInput, options: EnrolOptions = {}): Promise<EnrolledSpeaker> => {
      const fields: Record<string, string> = { name };
      if (options.metadata) fields.metadata = JSON.stringify(options.metadata);
      if (options.keepAudio) fields.keep_audio = 'true';
      return JSON.parse(await this.uploadForm('/v1/speakers', audio, fields, options)) as EnrolledSpeaker;
    },
    /** POST /v1/speakers/:id/audio: more audio of the same speaker for the voiceprint. */
    addAudio: async (id: string, audio: AudioInput, options: Omit<EnrolOptions, 'metadata'> = {}): Promise<EnrolledSpeaker> => {
      const fields: Record<string, string> = options.keepAudio ? { keep_audio: 'true' } : {};
      return JSON.parse(await this.uploadForm(`/v1/speakers/${encodeURIComponent(id)}/audio`, audio, fields, options)) as EnrolledSpeaker;
    },
    list: (options?: CallOptions): Promise<SpeakerList> => this.json('GET', '/v1/speakers', options),
    get: (id: string, options?: CallOptions): Promise<EnrolledSpeaker> => this.json('GET', `/v1/speakers/${encodeURIComponent(id)}`, options),
    /** DELETE /v1/speakers/:id: removes the voiceprint and any kept audio. */
    delete: (id: string, options?: CallOptions): Promise<{ speaker_id: string; deleted: true }> =>
      this.json('DELETE', `/v1/speakers/${encodeURIComponent(id)}`, options),
  };

  /** POST /v1/process: the full response, or the transcript as text/SRT/VTT when `format_output` asks for it. */
  process(audio: AudioInput, request?: ProcessRequest & { format_output?: 'json' }, options?: CallOptions): Promise<ProcessResponse>;
  process(audio: AudioInput, request: ProcessRequest & { format_output: TextFormat }, options?: CallOptions): Promise<string>;
  async process(audio: AudioInput, request: ProcessRequest = DEFAULT_REQUEST, options: CallOptions = {}): Promise<ProcessResponse | string> {
    const body = await this.upload('/v1/process', audio, { ...request, async_process: false }, options);
    return (request.format_output ?? 'json') === 'json' ? (JSON.parse(body) as ProcessResponse) : body;
  }

  /** Speech to text only: `process` with the transcribe task, answering with the transcript. */
  async transcribe(audio: AudioInput, settings: TranscribeSettings = {}, options?: CallOptions): Promise<TranscriptionResult> {
    const response = await this.process(audio, { settings: { tasks: ['transcribe'], tra: settings } }, options);
    return response.result.tra!;
  }

  /** POST /v1/process with `async_process`: queues a job and answers at once with its id. */
  async submit(audio: AudioInput, request: ProcessRequest = DEFAULT_REQUEST, options: SubmitOptions = {}): Promise<JobAccepted> {
    const headers = { 'idempotency-key': options.idempotencyKey ?? randomUUID() };
    return JSON.parse(await this.upload('/v1/process', audio, { ...request, async_process: true }, options, headers)) as JobAccepted;
  }

  getJob(id: string, options?: CallOptions): Promise<Job> {
    return this.json('GET', `/v1/jobs/${encodeURIComponent(id)}`, options);
  }

  listJobs(query: ListJobsQuery = {}, options?: CallOptions): Promise<JobList> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const search = params.size ? `?${params.toString()}` : '';
    return this.json('GET', `/v1/jobs${search}`, options);
  }

  /** DELETE /v1/jobs/:id: cancels a queued or running job, then deletes it and its audio. */
  cancelJob(id: string, options?: CallOptions): Promise<JobDeleted> {
    return this.json('DELETE', `/v1/jobs/${encodeURIComponent(id)}`, options);
  }

  /** Polls a job until it completes (resolves with it) or fails or is cancelled (rejects with EarshotJobError). */
  async waitForJob(id: string, options: WaitOptions = {}): Promise<Job> {
    let lastProgress = -1;
    for (;;) {
      const job = await this.getJob(id, { signal: options.signal });
      if (job.progress !== lastProgress) {
        lastProgress = job.progress;
        options.onProgress?.(job.progress, job);
      }
      if (FINISHED.has(job.status)) {
        if (job.status === 'completed') return job;
        throw new EarshotJobError(job);
      }
      try {
        await sleep(options.pollIntervalMs ?? 1000, undefined, { signal: options.signal });
      } catch {
        throw options.signal!.reason;
      }
    }
  }

  /**
   * Live transcription over /v1/ws: sends `audio` (PCM16 little-endian mono chunks at `sampleRate`) as it comes and
   * yields the server's `partial`, `final` and late `emotion` events until the last final; `error` frames are thrown.
   */
  stream(audio: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: StreamOptions = {}): AsyncGenerator<StreamEvent> {
    return openStream(this.baseUrl.replace(/^http/, 'ws') + '/v1/ws', this.headers, audio, options);
  }

  health(options?: CallOptions): Promise<HealthReport> {
    return this.json('GET', '/health', options);
  }

  models(options?: CallOptions): Promise<ModelList> {
    return this.json('GET', '/v1/models', options);
  }

  private async json<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const answer = await send(`${this.baseUrl}${path}`, () => ({ method, headers: this.headers }), this.sendOptions(options, true));
    return JSON.parse(answer.body) as T;
  }

  private upload(path: string, audio: AudioInput, request: ProcessRequest, options: CallOptions, headers: Record<string, string> = {}) {
    return this.uploadForm(path, audio, { request_json: JSON.stringify(request) }, options, headers);
  }

  private async uploadForm(path: string, audio: AudioInput, fields: Record<string, string>, options: CallOptions, headers: Record<string, string> = {}) {
    const body = await multipartBody('audio', audio, fields);
    const answer = await send(
      `${this.baseUrl}${path}`,
      () => {
        const made = body.make();
        return { method: 'POST', body: made.body, headers: { ...this.headers, ...headers, ...made.headers }, duplex: made.duplex };
      },
      this.sendOptions(options, body.replayable),
    );
    return answer.body;
  }

  private sendOptions(options: CallOptions, replayable: boolean) {
    return { timeoutMs: options.timeoutMs ?? this.timeoutMs, signal: options.signal, retry: this.retry, replayable };
  }
}
