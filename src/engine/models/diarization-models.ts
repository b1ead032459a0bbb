import { DEFAULT_TUNING, Diarizer, type DiarizerTuning } from '../core/diarization/diarizer';
import { MfccStatsEmbedder } from '../core/diarization/mfcc-embedder';
import type { SpeakerEmbedder } from '../core/diarization/models';
import type { InstalledModel } from './model-registry';
import type { OnnxRuntimeOptions } from '../../contract/engine-types';
import { PyannoteSegmentation } from './pyannote-segmentation';
import { OnnxSpeakerEmbedder } from './speaker-embedding-onnx';

export interface DiarizerConfig {
  /** `ModelRegistry.chosen('speaker-segmentation')`; undefined (nothing installed) fails the load. */
  segmentation: InstalledModel<'speaker-segmentation'> | undefined;
  /** `ModelRegistry.chosen('speaker-embedding')`; undefined: the MFCC features. */
  embedding: InstalledModel<'speaker-embedding'> | undefined;
  runtime: OnnxRuntimeOptions;
  tuning?: Partial<DiarizerTuning>;
  /** Hears why the MFCC features stand in for the embedding model. */
  onFallback?: (reason: string) => void;
}

/**
 * The diarizer: the chosen segmentation model and speaker embedder. The MFCC features stand in only when no
 * embedding model can be loaded; `onFallback` hears why.
 */
export async function loadDiarizer({ segmentation, embedding, runtime, tuning = {}, onFallback = () => undefined }: DiarizerConfig): Promise<Diarizer> {
  if (!segmentation) throw new Error('no speaker segmentation model: the built-in one (assets/diarization) is missing');
  const segmenter = await PyannoteSegmentation.load({ modelPath: segmentation.path, runtime });
  return new Diarizer(segmenter, await loadEmbedder(embedding, runtime, onFallback), { ...DEFAULT_TUNING, ...tuning });
}

async function loadEmbedder(
  model: InstalledModel<'speaker-embedding'> | undefined,
  runtime: OnnxRuntimeOptions,
  onFallback: (reason: string) => void,
): Promise<SpeakerEmbedder> {
  if (!model) {
    onFallback('no speaker-embedding model is installed');
    return new MfccStatsEmbedder();
  }
  try {
    return await OnnxSpeakerEmbedder.load({ modelPath: model.path, runtime, name: model.name });
  } catch (err) {
    onFallback(`${model.path} could not be loaded: ${(err as Error).message}`);
    return new MfccStatsEmbedder();
  }
}
