import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoDir } from '../config/repo-dir';
import type { WhisperFeatureRecipe } from './whisper-feature-encoder';

/** Features of the built-in head: whisper-base encoder block 3 of 6 (residual output), mean+std over a 6 s window. */
export const DEFAULT_FEATURE_RECIPE: WhisperFeatureRecipe = {
  encoder: 'whisper-base',
  output: '/layers.2/Add_1_output_0',
  width: 512,
  nMels: 80,
  window_s: 6,
  pooling: 'mean+std',
};

/** The head shipped in the repository (assets/emotion/), used when settings.emo.model is not given. */
export const DEFAULT_EMOTION_MODEL = 'earshot-ravdess';

/** model.json of a head trained by `npm run train:emotion`. */
export interface EmotionHeadManifest {
  name: string;
  kind: 'whisper-head';
  labels: string[];
  /** ONNX file of the head, relative to the model folder. */
  head: string;
  features: WhisperFeatureRecipe;
  training: Record<string, unknown>;
  cv: Record<string, unknown>;
  licence: string;
}

export interface InstalledEmotionModel {
  name: string;
  kind: 'emotion';
  /** whisper-head: Earshot's head on Whisper encoder features; hf-audio-classification: a Hugging Face ONNX export. */
  format: 'whisper-head' | 'hf-audio-classification';
  dir: string;
  /** "builtin", "models_dir". */
  source: string;
  bytes: number;
}

/** ONNX file of a Hugging Face audio-classification export: onnx/model.onnx, else the first onnx/model*.onnx. */
export function hfOnnxFile(dir: string): string | null {
  const onnxDir = join(dir, 'onnx');
  if (!existsSync(onnxDir)) return null;
  const files = readdirSync(onnxDir).filter((f) => /^model.*\.onnx$/.test(f)).sort();
  if (files.length === 0) return null;
  return join(onnxDir, files.includes('model.onnx') ? 'model.onnx' : files[0]);
}

function describe(name: string, dir: string, source: string): InstalledEmotionModel | null {
  const manifest = join(dir, 'model.json');
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as EmotionHeadManifest;
    if (m.kind !== 'whisper-head' || !existsSync(join(dir, m.head))) return null;
    return { name, kind: 'emotion', format: 'whisper-head', dir, source, bytes: statSync(join(dir, m.head)).size };
  }
  const onnxFile = hfOnnxFile(dir);
  if (onnxFile && existsSync(join(dir, 'config.json'))) {
    return { name, kind: 'emotion', format: 'hf-audio-classification', dir, source, bytes: statSync(onnxFile).size };
  }
  return null;
}

/**
 * Which emotion models exist: the built-in heads in assets/emotion/, then the folders of MODELS_DIR/emotion/
 * (a head trained by `train:emotion`, or a Hugging Face audio-classification export); MODELS_DIR wins on a name clash.
 */
export class EmotionRegistry {
  private readonly builtin: string | null;

  constructor(private readonly modelsDir: string) {
    this.builtin = repoDir('assets', 'emotion');
  }

  list(): InstalledEmotionModel[] {
    const found = new Map<string, InstalledEmotionModel>();
    const scan = (root: string | null, source: string): void => {
      if (!root || !existsSync(root)) return;
      for (const name of readdirSync(root).sort()) {
        const dir = join(root, name);
        if (name.startsWith('.') || !statSync(dir).isDirectory()) continue;
        const model = describe(name, dir, source);
        if (model) found.set(name, model);
      }
    };
    scan(this.builtin, 'builtin');
    scan(join(this.modelsDir, 'emotion'), 'models_dir');
    return [...found.values()];
  }

  find(name: string): InstalledEmotionModel | undefined {
    return this.list().find((m) => m.name === name);
  }
}
