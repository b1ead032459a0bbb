import * as ort from 'onnxruntime-node';
import type { OnnxRuntimeOptions } from '../../contract/engine-types';

export function executionProviders(device: string): ort.InferenceSession.ExecutionProviderConfig[] {
  const cuda = /^cuda:(\d+)$/.exec(device);
  if (cuda) return [{ name: 'cuda', deviceId: Number(cuda[1]) }, 'cpu'];
  return ['cpu'];
}

/**
 * One place that turns Earshot's runtime settings into an onnxruntime session (from a file or from bytes).
 * `memoryArena: false` suits graphs
 * that make a few huge allocations per run (the arena would keep their peak for the life of the session).
 */
export async function createSession(
  model: string | Uint8Array,
  runtime: OnnxRuntimeOptions,
  { memoryArena = true }: { memoryArena?: boolean } = {},
): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: executionProviders(runtime.device),
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableCpuMemArena: memoryArena,
  };
  if (runtime.intraOpThreads > 0) options.intraOpNumThreads = runtime.intraOpThreads;
  try {
    return await (typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options));
  } catch (err) {
    const name = typeof model === 'string' ? model : 'from memory';
    throw new Error(`cannot load ONNX model ${name} on ${runtime.device}: ${(err as Error).message}`, { cause: err });
  }
}
