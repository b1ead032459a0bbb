import { MessageChannel } from 'node:worker_threads';
import { rpcEmitter, serveRpc, type EmitEvent } from '../../libs/rpc/rpc';
import { type EngineCalls, type EngineEvents, engineErrors, type EngineHandlers, type EngineSignals } from '../../src/contract/engine-contract';
import type { ModelCacheStats, PipelineResult } from '../../src/contract/engine-types';
import { EarshotError } from '../../src/contract/errors';
import type { EngineProcess, StartEngine } from '../../src/server/infra/engine/engine-worker';

const EMPTY_CACHE: ModelCacheStats = {
  entries: [],
  hits: 0,
  misses: 0,
  loads: 0,
  load_failures: 0,
  evictions: 0,
  bytes: 0,
  max_bytes: 0,
  max_entries: 0,
  idle_ttl_ms: 0,
};

/** A pipeline result for `durationS` seconds of audio with this transcript. */
export function fakeResult(durationS: number, text = 'fake transcript'): PipelineResult {
  return {
    audio: { duration_s: durationS, sample_rate: 16000, channels: 1 },
    timings_ms: { total: 1 },
    result: { tra: { text, language: 'en', language_prob: 1, segments: [] } },
  };
}

/** An engine with no models loaded: whisper-tiny and one emotion head "installed", every run a fixed answer. */
export function fakeHandlers(emit: EmitEvent<EngineEvents>, overrides: Partial<EngineHandlers> = {}): EngineHandlers {
  const closed = (streamId: number) => emit('streamEvent', { streamId, message: { type: 'done' } });
  return {
    process: async () => fakeResult(1),
    voices: async () => {
      throw new EarshotError('task_not_available', 'the fake engine hears no voices');
    },
    warmup: async () => null,
    stats: async () => ({ cache: EMPTY_CACHE, loaded: [], sttBatches: { batches: 0, requests: 0 } }),
    models: async () => [
      { name: 'whisper-tiny', kind: 'stt', source: 'fake', bytes: 1 },
      { name: 'earshot-robust', kind: 'emotion', source: 'fake', bytes: 1 },
    ],
    streamOpen: async () => null,
    streamStats: async () => ({ streams: 0 }),
    streamAudio: () => undefined,
    streamEnd: ({ streamId }) => closed(streamId),
    streamClose: () => undefined,
    ...overrides,
  };
}

/** A fake engine (its handlers over a MessageChannel) in place of the worker; `crash` ends it as a dead worker would. */
export interface FakeEngines {
  start: StartEngine;
  /** Engines started so far (a crash starts another). */
  started: number;
  crash(reason: string): void;
}

export function fakeEngines(overrides: (emit: EmitEvent<EngineEvents>) => Partial<EngineHandlers> = () => ({})): FakeEngines {
  let exit: (reason: string) => void = () => undefined;
  const engines: FakeEngines = {
    started: 0,
    crash: (reason) => exit(reason),
    start: (): EngineProcess => {
      engines.started++;
      const { port1, port2 } = new MessageChannel();
      const emit = rpcEmitter<EngineEvents>(port2);
      serveRpc<EngineCalls, EngineSignals>(port2, fakeHandlers(emit, overrides(emit)), engineErrors);
      const listeners: Array<(reason: string) => void> = [];
      let ended = false;
      const end = (reason: string) => {
        if (ended) return;
        ended = true;
        port1.close();
        for (const listener of listeners) listener(reason);
      };
      exit = end;
      return { port: port1, onExit: (listener) => void listeners.push(listener), terminate: async () => end('terminated') };
    },
  };
  return engines;
}
