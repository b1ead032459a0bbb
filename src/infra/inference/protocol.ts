import type { PipelineRequest, PipelineResult } from '../../core/pipeline';
import type { ErrorCode } from '../../core/errors';
import type { ModelCacheStats } from '../models/model-cache';
import type { OnnxRuntimeOptions } from '../models/onnx-session';

/** What a worker needs to build its pipeline; plain data, sent as workerData. */
export interface WorkerSettings {
  modelsDir: string;
  runtime: OnnxRuntimeOptions;
  cache: { maxEntries: number; maxBytes: number; idleTtlMs: number };
  limits: { maxSeconds: number; ffmpegTimeoutMs: number; ffmpegPath: string };
}

export type WorkerRequest =
  | { id: number; type: 'process'; audioPath: string; request: PipelineRequest }
  | { id: number; type: 'warmup'; model: string }
  | { id: number; type: 'stats' }
  /** Stops the run with this id at its next progress point; its reply is then `failed` with code `timeout`. */
  | { id: number; type: 'cancel' };

export interface WorkerStats {
  cache: ModelCacheStats;
  loaded: string[];
}

export type WorkerReply =
  | { id: number; type: 'progress'; fraction: number }
  | { id: number; type: 'done'; value: PipelineResult | WorkerStats | null }
  | { id: number; type: 'failed'; code: ErrorCode; message: string };
