/** What bench/stt.ts hands to one bench/stt-child.ts process, and what comes back. */
import { join, resolve } from 'node:path';
import type { SttWindowSettings } from '../src/contract/engine-types';

export type Engine = 'earshot' | 'transformers.js';

export interface ChildJob {
  engine: Engine;
  model: string;
  threads: number;
  /** Earshot's short-window settings (the service's, from the environment). */
  windows: SttWindowSettings;
  /** languages[i]: ISO code of files[i], given to both engines. */
  inputs: Array<{ name: string; files: string[]; languages: string[] }>;
}

export interface InputRun {
  name: string;
  audioSeconds: number;
  /** Transcription only: reading the audio and loading the model are not counted. */
  wallSeconds: number;
  /** Seconds per file, same order as texts. */
  fileSeconds: number[];
  texts: string[];
  /** Process peak so far: inputs run in order, so a later input's figure covers the earlier ones. */
  peakRssMb: number;
}

export interface ChildReport {
  loadSeconds: number;
  runs: InputRun[];
}

export const ROOT = resolve(__dirname, '..');

/** The transformers.js layout root of an sts-<model> package: <root>/<model>/{config.json,onnx/...}. */
export function modelRoot(model: string): string {
  return join(ROOT, 'node_modules', `sts-${model}`, 'models', 'Xenova');
}
