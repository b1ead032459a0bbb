import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_TUNING, Diarizer, type DiarizerTuning } from '../../core/diarization/diarizer';
import { MfccStatsEmbedder } from '../../core/diarization/mfcc-embedder';
import type { SpeakerEmbedder } from '../../core/diarization/models';
import { EarshotError } from '../../core/errors';
import type { OnnxRuntimeOptions } from './onnx-session';
import { PyannoteSegmentation } from './pyannote-segmentation';
import { findSpeakerEmbedder } from './speaker-embedding-onnx';

/** The first `.onnx` file of a folder, by name. */
function firstOnnx(dir: string): string | null {
  if (!existsSync(dir)) return null;
  const file = readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort()[0];
  return file ? join(dir, file) : null;
}

/**
 * The diarizer from MODELS_DIR: the segmentation model in `segmentation/`, and the speaker embedder that
 * `embedderFor` finds in `embedding/` (the built-in MFCC features when there is none).
 */
export async function loadDiarizer(
  modelsDir: string,
  runtime: OnnxRuntimeOptions,
  tuning: Partial<DiarizerTuning> = {},
  embedderFor: (dir: string, runtime: OnnxRuntimeOptions) => Promise<SpeakerEmbedder | null> = findSpeakerEmbedder,
): Promise<Diarizer> {
  const segmentationPath = firstOnnx(join(modelsDir, 'segmentation'));
  if (!segmentationPath) {
    throw new EarshotError('model_not_found', `no speaker segmentation model: put pyannote segmentation-3.0 (.onnx) in ${join(modelsDir, 'segmentation')}`);
  }
  const segmentation = await PyannoteSegmentation.load({ modelPath: segmentationPath, runtime });
  const embedder = (await embedderFor(join(modelsDir, 'embedding'), runtime)) ?? new MfccStatsEmbedder();
  return new Diarizer(segmentation, embedder, { ...DEFAULT_TUNING, ...tuning });
}
