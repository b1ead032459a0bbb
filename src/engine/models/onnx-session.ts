import * as ort from 'onnxruntime-node';
import type { OnnxRuntimeOptions } from '../../contract/engine-types';

export function executionProviders(device: string): ort.InferenceSession.ExecutionProviderConfig[] {
  const cuda = /^cuda:(\d+)$/.exec(device);
  if (cuda) return [{ name: 'cuda', deviceId: Number(cuda[1]) }, 'cpu'];
  return ['cpu'];
}

export interface SessionTuning {
  /** false suits graphs that make a few huge allocations per run (the arena would keep their peak for the life of the session). */
  memoryArena?: boolean;
  /**
   * Dequantize constant int8 weights once, at load, instead of on every run. onnxruntime keeps DequantizeLinear
   * nodes to preserve QDQ patterns, so a weight behind one is dequantized again on each run: in the Whisper decoders
   * that is the output projection onto the vocabulary (the tied token embedding), and whisper-small's decoder step
   * spent 22 of its 45 ms on it (2 cores). Folded, a step takes 24 ms (tiny 18 → 9 ms, base 26 → 13 ms) with the
   * same outputs, for an fp32 copy of that weight (whisper-small 160 MB). Quantizing the projection's input instead
   * (one int8 DynamicQuantizeMatMul, 19 ms) cost whisper-tiny 5.5 points on the DEV clips in other languages.
   */
  foldDequantizedWeights?: boolean;
}

/** One place that turns Earshot's runtime settings into an onnxruntime session (from a file or from bytes). */
export async function createSession(
  model: string | Uint8Array,
  runtime: OnnxRuntimeOptions,
  { memoryArena = true, foldDequantizedWeights = false }: SessionTuning = {},
): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: executionProviders(runtime.device),
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableCpuMemArena: memoryArena,
  };
  if (foldDequantizedWeights) options.extra = { session: { disable_quant_qdq: '1' } };
  if (runtime.intraOpThreads > 0) options.intraOpNumThreads = runtime.intraOpThreads;
  try {
    return await (typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options));
  } catch (err) {
    const name = typeof model === 'string' ? model : 'from memory';
    throw new Error(`cannot load ONNX model ${name} on ${runtime.device}: ${(err as Error).message}`, { cause: err });
  }
}
