import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DEFAULT_TUNING, Diarizer, type DiarizerTuning } from '../core/diarization/diarizer';
import { MfccStatsEmbedder } from '../core/diarization/mfcc-embedder';
import type { SpeakerEmbedder } from '../core/diarization/models';
import { repoDir } from '../../../libs/paths/repo-dir';
import type { OnnxRuntimeOptions } from '../../contract/engine-types';
import { PyannoteSegmentation } from './pyannote-segmentation';
import { OnnxSpeakerEmbedder } from './speaker-embedding-onnx';

export type DiarizationModelKind = 'speaker-segmentation' | 'speaker-embedding';

export interface InstalledDiarizationModel {
  name: string;
  kind: DiarizationModelKind;
  path: string;
  /** "builtin" (assets/diarization) or "models_dir". */
  source: string;
  bytes: number;
}

const FOLDER: Record<DiarizationModelKind, string> = { 'speaker-segmentation': 'segmentation', 'speaker-embedding': 'embedding' };

/** The models built into the project (assets/diarization/), by the names `models:pull` uses for them. */
const BUILTIN: Record<DiarizationModelKind, { name: string; file: string }> = {
  'speaker-segmentation': { name: 'pyannote-segmentation-3.0', file: 'pyannote-segmentation-3.0.int8.onnx' },
  'speaker-embedding': { name: 'campplus-zh-en', file: '3dspeaker-campplus-zh-en-common-advanced.onnx' },
};

/**
 * Which diarization models exist: in MODELS_DIR/segmentation and MODELS_DIR/embedding a `.onnx` file, or a folder
 * holding one (as `models:pull` stores them); then the built-in ones. The first of each kind is the one used, so a
 * model in MODELS_DIR replaces the built-in one.
 */
export class DiarizationRegistry {
  private readonly builtin: string | null;

  constructor(private readonly modelsDir: string) {
    this.builtin = repoDir('assets', 'diarization');
  }

  list(): InstalledDiarizationModel[] {
    return (['speaker-segmentation', 'speaker-embedding'] as const).flatMap((kind) => {
      const found: InstalledDiarizationModel[] = [];
      const dir = join(this.modelsDir, FOLDER[kind]);
      if (existsSync(dir)) {
        for (const entry of readdirSync(dir).sort()) {
          const path = join(dir, entry);
          if (entry.endsWith('.onnx')) found.push(installed(basename(entry, '.onnx'), kind, path, 'models_dir'));
          else if (!entry.startsWith('.') && statSync(path).isDirectory()) {
            const model = findOnnx(path);
            if (model) found.push(installed(entry, kind, model, 'models_dir'));
          }
        }
      }
      const builtin = this.builtin && join(this.builtin, FOLDER[kind], BUILTIN[kind].file);
      if (builtin && existsSync(builtin)) found.push(installed(BUILTIN[kind].name, kind, builtin, 'builtin'));
      return found;
    });
  }

  /** The model of a kind that the diarizer uses. */
  chosen(kind: DiarizationModelKind): InstalledDiarizationModel | undefined {
    return this.list().find((m) => m.kind === kind);
  }
}

function installed(name: string, kind: DiarizationModelKind, path: string, source: string): InstalledDiarizationModel {
  return { name, kind, path, source, bytes: statSync(path).size };
}

function findOnnx(dir: string): string | null {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (entry.endsWith('.onnx')) return path;
    if (statSync(path).isDirectory()) {
      const inner = findOnnx(path);
      if (inner) return inner;
    }
  }
  return null;
}

/**
 * The diarizer: the chosen segmentation model and speaker embedder (MODELS_DIR first, then the built-in ones). The
 * MFCC features stand in only when no embedding model can be loaded; `onFallback` hears why.
 */
export async function loadDiarizer(
  registry: DiarizationRegistry,
  runtime: OnnxRuntimeOptions,
  tuning: Partial<DiarizerTuning> = {},
  onFallback: (reason: string) => void = () => undefined,
): Promise<Diarizer> {
  const segmentationModel = registry.chosen('speaker-segmentation');
  if (!segmentationModel) throw new Error('no speaker segmentation model: the built-in one (assets/diarization) is missing');
  const segmentation = await PyannoteSegmentation.load({ modelPath: segmentationModel.path, runtime }, segmentationModel.bytes);
  return new Diarizer(segmentation, await loadEmbedder(registry, runtime, onFallback), { ...DEFAULT_TUNING, ...tuning });
}

async function loadEmbedder(registry: DiarizationRegistry, runtime: OnnxRuntimeOptions, onFallback: (reason: string) => void): Promise<SpeakerEmbedder> {
  const model = registry.chosen('speaker-embedding');
  if (!model) {
    onFallback('no speaker-embedding model is installed');
    return new MfccStatsEmbedder();
  }
  try {
    return await OnnxSpeakerEmbedder.load(model.path, runtime, model.name);
  } catch (err) {
    onFallback(`${model.path} could not be loaded: ${(err as Error).message}`);
    return new MfccStatsEmbedder();
  }
}
