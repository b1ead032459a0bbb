import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoDir } from '../../../libs/paths/repo-dir';
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

/**
 * Loudness every piece is brought to before the encoder (heads trained with it say so in model.json): RMS −23 dBFS,
 * gain limited to ±30 dB.
 */
export const DEFAULT_LOUDNESS = { target_dbfs: -23, max_gain_db: 30 };

/** model.json of a head trained by `npm run train:emotion`. */
export interface EmotionHeadManifest {
  name: string;
  kind: 'whisper-head';
  labels: string[];
  /** ONNX file of the head, relative to the model folder. */
  head: string;
  features: WhisperFeatureRecipe;
  /** Each piece scaled to this RMS level before the encoder; absent: pieces as they are (older heads). */
  loudness?: { target_dbfs: number; max_gain_db: number };
  /** The label is neutral unless another label's score beats neutral's by this much (absent: 0, plain argmax). */
  decision?: { neutral_margin: number };
  /** Temperature already folded into the head, and the calibration error it was measured to give. */
  calibration?: Record<string, unknown>;
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
