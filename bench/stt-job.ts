/** What bench/stt.ts hands to one bench/stt-child.ts process, and what comes back. */
import { join, resolve } from 'node:path';

export type Engine = 'earshot' | 'transformers.js';

export interface ChildJob {
  engine: Engine;
  model: string;
  threads: number;
  inputs: Array<{ name: string; files: string[] }>;
}

export interface InputRun {
  name: string;
  audioSeconds: number;
  /** Transcription only: reading the audio and loading the model are not counted. */
  wallSeconds: number;
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
