import * as ort from 'onnxruntime-node';

export interface OnnxRuntimeOptions {
  /** "cpu" or "cuda:N". */
  device: string;
  /** 0 lets onnxruntime choose. */
  intraOpThreads: number;
}

export const DEFAULT_RUNTIME: OnnxRuntimeOptions = { device: 'cpu', intraOpThreads: 0 };

export function executionProviders(device: string): ort.InferenceSession.ExecutionProviderConfig[] {
  const cuda = /^cuda:(\d+)$/.exec(device);
  if (cuda) return [{ name: 'cuda', deviceId: Number(cuda[1]) }, 'cpu'];
  return ['cpu'];
}

/** One place that turns Earshot's runtime settings into an onnxruntime session. */
export async function createSession(modelPath: string, runtime: OnnxRuntimeOptions): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: executionProviders(runtime.device),
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableCpuMemArena: true,
  };
  if (runtime.intraOpThreads > 0) options.intraOpNumThreads = runtime.intraOpThreads;
  try {
    return await ort.InferenceSession.create(modelPath, options);
  } catch (err) {
    throw new Error(`cannot load ONNX model ${modelPath} on ${runtime.device}: ${(err as Error).message}`);
  }
}
