import type { JobStatus } from './process';

/** The tasks whose real-time factor the dashboard follows. */
export const DASHBOARD_TASKS = ['transcribe', 'diarization', 'emotion'] as const;
export type DashboardTask = (typeof DASHBOARD_TASKS)[number];

/**
 * One dashboard sample: the service's state at `t` and what happened since the previous sample. A figure whose
 * source could not be read in time for this sample (e.g. the inference worker was busy) is null.
 */
export interface DashboardSample {
  /** Unix time in milliseconds. */
  t: number;
  /** Seconds since the previous sample: the interval the interval figures cover. */
  interval_s: number;
  /** Background jobs by status. */
  jobs: Record<JobStatus, number> | null;
  /** The newest few running jobs. */
  running_jobs: Array<{ job_id: string; progress: number; started_at: string | null }> | null;
  /** Pipeline runs waiting for an inference slot, and running. */
  inference: { queued: number; running: number } | null;
  /** Seconds of audio processed per second of the interval (= audio minutes per minute); each run counted once. */
  throughput: number;
  /** Seconds of audio processed in the interval. */
  audio_s: number;
  /** API requests answered in the interval and their latency (not the web UI, /health, /ready, /metrics, the dashboard). */
  requests: { count: number; p50_ms: number | null; p95_ms: number | null };
  /** Mean real-time factor (processing time / audio duration) of the runs that finished in the interval, by task. */
  rtf: Record<DashboardTask, number | null>;
  /** Open WebSocket streams. */
  streams: number | null;
  /** Models held in the inference worker's cache. */
  models: Array<{ name: string; mb: number; in_use: number }> | null;
  /** Process CPU (all threads) in percent of one core, up to 100 × cores. */
  cpu: { percent: number; cores: number } | null;
  memory_mb: { rss: number; heap_used: number; heap_total: number } | null;
  /** Error answers in the interval by error code. */
  errors: Record<string, number>;
}

/** GET /v1/dashboard, and the first event (`history`) of GET /v1/dashboard/events. */
export interface DashboardHistory {
  interval_s: number;
  window_s: number;
  /** Oldest first, up to `window_s / interval_s` of them. */
  samples: DashboardSample[];
}
