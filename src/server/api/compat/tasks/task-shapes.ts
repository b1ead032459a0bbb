/**
 * The Redis task service's (kikipounamu ASR_server) response shapes, made from Earshot's jobs. Pure functions: the
 * controller fetches, these translate.
 */
import type { Job, JobStatus, QueueStats } from '../../../../../libs/contracts/process';

export const TASKS_PREFIX = '/api/v1';

/** That service's task states: done where Earshot says completed; a cancelled job reads as failed. */
export type TaskStatus = 'queued' | 'processing' | 'done' | 'failed';

const TASK_STATUS: Record<JobStatus, TaskStatus> = {
  queued: 'queued',
  processing: 'processing',
  completed: 'done',
  failed: 'failed',
  cancelled: 'failed',
};

export interface SubmitResponse {
  task_id: string;
  status: 'queued';
  /** Jobs waiting ahead of this one. */
  position: number | null;
  estimated_wait: number | null;
}

export interface TaskResult {
  task_id: string;
  status: TaskStatus;
  text: string | null;
  /** Seconds of audio. */
  duration: number | null;
  created_at: string | null;
  audio_url: string | null;
  error: string | null;
  retry_url: string | null;
  /** Percent. */
  progress: number | null;
}

export interface HistoryRecord {
  task_id: string;
  filename: string;
  text: string;
  created_at: string;
  duration: number;
  status: TaskStatus;
  audio_url: string;
}

export interface QueueStatus {
  queued: number;
  processing: number;
  failed: number;
  workers: number;
  workers_busy: number;
}

export interface TaskStats {
  total_tasks: number;
  /** Seconds of audio transcribed. */
  total_duration: number;
  /** Processing time over audio time. */
  avg_rtf: number;
  /** "12.34 MB" */
  storage_used: string;
}

const audioUrl = (id: string) => `${TASKS_PREFIX}/asr/audio/${id}`;

export function submitResponse(taskId: string, stats: QueueStats): SubmitResponse {
  return { task_id: taskId, status: 'queued', position: Math.max(0, stats.depth.queued - 1), estimated_wait: null };
}

export function taskResult(job: Job): TaskResult {
  const status = TASK_STATUS[job.status];
  return {
    task_id: job.job_id,
    status,
    text: job.result?.result.tra?.text ?? null,
    duration: job.result?.audio.duration_s ?? null,
    created_at: job.created_at,
    audio_url: status === 'done' ? audioUrl(job.job_id) : null,
    error: job.error?.message ?? (job.status === 'cancelled' ? 'cancelled' : null),
    retry_url: status === 'failed' ? `${TASKS_PREFIX}/asr/retry/${job.job_id}` : null,
    progress: Math.round(job.progress * 100),
  };
}

/** A finished transcription as a history record; the upload's file name is not kept, so the task id stands in. */
export function historyRecord(job: Job): HistoryRecord {
  return {
    task_id: job.job_id,
    filename: job.job_id,
    text: job.result?.result.tra?.text ?? '',
    created_at: job.created_at,
    duration: job.result?.audio.duration_s ?? 0,
    status: TASK_STATUS[job.status],
    audio_url: audioUrl(job.job_id),
  };
}

export function queueStatus(stats: QueueStats): QueueStatus {
  return {
    queued: stats.depth.queued,
    processing: stats.depth.processing,
    failed: stats.depth.failed,
    workers: stats.workers,
    workers_busy: Math.min(stats.workers, stats.depth.processing),
  };
}

/** Totals over completed jobs: audio seconds, and processing time (the pipeline's total) over audio time. */
export function taskStats(jobs: Job[], storageBytes: number): TaskStats {
  const done = jobs.filter((j) => j.status === 'completed' && j.result);
  const audioS = done.reduce((sum, j) => sum + j.result!.audio.duration_s, 0);
  const processingS = done.reduce((sum, j) => sum + (j.result!.timings_ms.total ?? 0) / 1000, 0);
  return {
    total_tasks: done.length,
    total_duration: Math.round(audioS * 1000) / 1000,
    avg_rtf: audioS > 0 ? Math.round((processingS / audioS) * 10000) / 10000 : 0,
    storage_used: `${(storageBytes / 1024 / 1024).toFixed(2)} MB`,
  };
}
