import type { StreamServerMessage } from '../../libs/contracts/process';
import type { CallHandlers, MessageHandlers, RpcFailure } from '../../libs/rpc/rpc';
import { EarshotError, ERROR_CODES, type ErrorCode } from './errors';
import type { EngineStats, ModelListing, PipelineRequest, PipelineResult, StreamOptions, VoiceAnalysis } from './engine-types';

/**
 * Every operation of the inference engine, as the HTTP thread calls it over the worker boundary (libs/rpc). Adding
 * one is one entry here: the compiler then asks for its handler in src/engine/engine.ts, and types its reply at
 * every `call` in src/server.
 */
export interface EngineCalls {
  /** The whole pipeline on one decoded file; reports progress, stops at a progress point when cancelled. */
  process: { request: { audioPath: string; request: PipelineRequest }; reply: PipelineResult };
  /** Speaker enrolment: the voices heard in these files. */
  voices: { request: { audioPaths: string[] }; reply: VoiceAnalysis };
  /** Loads a speech-to-text model and runs it once. */
  warmup: { request: { model: string }; reply: null };
  stats: { request: null; reply: EngineStats };
  /** Every installed model (speech-to-text, emotion, speaker), read from disk now. */
  models: { request: null; reply: ModelListing[] };
  /** Starts live stream `streamId` with its model loaded; its messages then come as `streamEvent`s. */
  streamOpen: { request: { streamId: number; options: StreamOptions }; reply: null };
  streamStats: { request: null; reply: { streams: number } };
}

/** One-way messages of a live stream (/v1/ws), HTTP thread → engine: its audio (16 kHz), its end, its disconnect. */
export interface EngineSignals {
  streamAudio: { streamId: number; samples: Float32Array };
  streamEnd: { streamId: number };
  streamClose: { streamId: number };
}

/** Engine → HTTP thread, unasked: what a live stream has to say (partials, finals, its end or error). */
export interface EngineEvents {
  streamEvent: { streamId: number; message: StreamServerMessage };
}

/** What the engine implements: a handler per call and per signal. */
export type EngineHandlers = CallHandlers<EngineCalls> & MessageHandlers<EngineSignals>;

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** Error codes survive the crossing: the HTTP thread maps them to statuses as if the error were thrown there. */
export const engineErrors = {
  toFailure: (err: unknown): RpcFailure => ({
    code: err instanceof EarshotError ? err.code : 'internal',
    message: err instanceof Error ? err.message : String(err),
  }),
  toError: (failure: RpcFailure): EarshotError => new EarshotError(isErrorCode(failure.code) ? failure.code : 'internal', failure.message),
  /** A cancelled run (client gone, request timed out) fails with this at its next progress point. */
  cancelled: (): EarshotError => new EarshotError('timeout', 'cancelled: the client went away or the request timed out'),
};
