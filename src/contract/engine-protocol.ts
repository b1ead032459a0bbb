import type { StreamServerMessage } from '../../libs/contracts/process';
import type { PipelineRequest, PipelineResult, VoiceAnalysis } from '../engine/core/pipeline';
import type { StreamOptions } from '../engine/core/stream/stream-session';
import type { ErrorCode } from './errors';
import type { ModelCacheStats } from '../engine/models/model-cache';
import type { OnnxRuntimeOptions } from '../engine/models/onnx-session';
import type { SttWindowSettings } from '../engine/models/whisper-loader';

/** What a worker needs to build its pipeline; plain data, sent as workerData. */
export interface WorkerSettings {
  modelsDir: string;
  runtime: OnnxRuntimeOptions;
  cache: { maxEntries: number; maxBytes: number; idleTtlMs: number };
  limits: { maxSeconds: number; ffmpegTimeoutMs: number; ffmpegPath: string };
  /** Hop between segmentation windows (DIARIZATION_STEP_S); the diarizer's default when absent. */
  diarization?: { stepS: number };
  stt: SttWindowSettings;
}

export type WorkerRequest =
  | { id: number; type: 'process'; audioPath: string; request: PipelineRequest }
  | { id: number; type: 'warmup'; model: string }
  /** Speaker enrolment: the voices heard in these files. */
  | { id: number; type: 'voices'; audioPaths: string[] }
  | { id: number; type: 'stats' }
  | { id: number; type: 'stream-open'; streamId: number; options: StreamOptions }
  | { id: number; type: 'stream-stats' }
  /** Stops the run with this id at its next progress point; its reply is then `failed` with code `timeout`. */
  | { id: number; type: 'cancel' };

/** Messages of a live stream (/v1/ws) that need no answer: its audio (16 kHz), its end, its disconnect. */
export type WorkerStreamMessage =
  | { type: 'stream-audio'; streamId: number; samples: Float32Array }
  | { type: 'stream-end'; streamId: number }
  | { type: 'stream-close'; streamId: number };

export interface WorkerStreamStats {
  streams: number;
}

export interface WorkerStats {
  cache: ModelCacheStats;
  loaded: string[];
}

export type WorkerReply =
  | { id: number; type: 'progress'; fraction: number }
  | { id: number; type: 'done'; value: PipelineResult | VoiceAnalysis | WorkerStats | WorkerStreamStats | null }
  | { id: number; type: 'failed'; code: ErrorCode; message: string }
  | { type: 'stream-event'; streamId: number; message: StreamServerMessage };
