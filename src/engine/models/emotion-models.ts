import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { normalizeLoudness, zeroMeanUnitVariance } from '../../../libs/audio/normalize';
import type { EmotionModel } from '../core/emotion/emotion-model';
import { type EmotionHeadManifest, HEAD_INPUT, HEAD_OUTPUT } from './emotion-head';
import { hfOnnxFile, type InstalledModel } from './model-registry';
import type { OnnxRuntimeOptions } from '../../contract/engine-types';
import { createSession } from './onnx-session';
import { WhisperFeatureEncoder } from './whisper-feature-encoder';

const SAMPLE_RATE = 16000;

export interface WhisperHeadEmotionConfig {
  name: string;
  /** The head's folder: model.json and the ONNX file it names. */
  dir: string;
  /** The installed Whisper export that the manifest's feature recipe names. */
  whisperDir: string;
  runtime: OnnxRuntimeOptions;
}

/**
 * Earshot's head: a cut Whisper encoder makes pooled features of each piece (brought to one loudness first when the
 * head was trained so), a tiny ONNX classifier scores them.
 */
export class WhisperHeadEmotionModel implements EmotionModel {
  readonly windowSamples: number;
  readonly neutralMargin: number;

  private constructor(
    readonly name: string,
    readonly labels: readonly string[],
    private readonly encoder: WhisperFeatureEncoder,
    private readonly head: ort.InferenceSession,
    private readonly manifest: EmotionHeadManifest,
  ) {
    this.windowSamples = encoder.windowSamples;
    this.neutralMargin = manifest.decision?.neutral_margin ?? 0;
  }

  static async load({ name, dir, whisperDir, runtime }: WhisperHeadEmotionConfig): Promise<WhisperHeadEmotionModel> {
    const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as EmotionHeadManifest;
    const encoder = await WhisperFeatureEncoder.load({ whisperDir, recipe: manifest.features, runtime });
    const head = await createSession(join(dir, manifest.head), runtime);
    return new WhisperHeadEmotionModel(name, manifest.labels, encoder, head, manifest);
  }

  async classify(pieces: Float32Array[]): Promise<Float32Array> {
    if (pieces.length === 0) return new Float32Array(0);
    const loudness = this.manifest.loudness;
    const features = await this.encoder.embed(loudness ? pieces.map((p) => normalizeLoudness(p, loudness.target_dbfs, loudness.max_gain_db)) : pieces);
    const input = new ort.Tensor('float32', features, [pieces.length, this.encoder.dim]);
    const result = await this.head.run({ [HEAD_INPUT]: input });
    return (result[HEAD_OUTPUT].data as Float32Array).slice();
  }

  async release(): Promise<void> {
    await this.encoder.release();
    await this.head.release();
  }
}

interface HfPreprocessorConfig {
  feature_extractor_type?: string;
  sampling_rate?: number;
  do_normalize?: boolean;
  return_attention_mask?: boolean;
}

export interface HfAudioClassifierConfig {
  name: string;
  /** The export's folder: config.json, preprocessor_config.json (optional), onnx/model*.onnx. */
  dir: string;
  runtime: OnnxRuntimeOptions;
}

/** Pieces longer than this are cut and averaged: attention cost grows with the square of the length. */
const HF_WINDOW_SECONDS = 8;

/**
 * A Hugging Face audio-classification ONNX export (wav2vec2 / HuBERT / WavLM fine-tunes): raw 16 kHz waveform
 * `input_values` (normalised per piece when the preprocessor config says so) → `logits` over config.json's id2label.
 */
export class HfAudioClassifier implements EmotionModel {
  readonly windowSamples = HF_WINDOW_SECONDS * SAMPLE_RATE;
  readonly neutralMargin = 0;

  private constructor(
    readonly name: string,
    readonly labels: readonly string[],
    private readonly session: ort.InferenceSession,
    private readonly normalize: boolean,
  ) {}

  static async load({ name, dir, runtime }: HfAudioClassifierConfig): Promise<HfAudioClassifier> {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { id2label?: Record<string, string> };
    const id2label = config.id2label ?? {};
    const ids = Object.keys(id2label).map(Number).sort((a, b) => a - b);
    if (ids.length < 2 || ids.some((id, i) => id !== i)) throw new Error(`${name}: config.json needs id2label with ids 0..n-1`);
    let pre: HfPreprocessorConfig = {};
    try {
      pre = JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8')) as HfPreprocessorConfig;
    } catch {
      // No preprocessor config: transformers' Wav2Vec2FeatureExtractor defaults (16 kHz, normalised).
    }
    if ((pre.sampling_rate ?? SAMPLE_RATE) !== SAMPLE_RATE) throw new Error(`${name}: expects ${pre.sampling_rate} Hz audio, Earshot feeds 16000 Hz`);
    if (pre.feature_extractor_type && pre.feature_extractor_type !== 'Wav2Vec2FeatureExtractor') {
      throw new Error(`${name}: feature extractor ${pre.feature_extractor_type} is not supported (raw-waveform Wav2Vec2FeatureExtractor only)`);
    }
    const session = await createSession(hfOnnxFile(dir)!, runtime);
    if (!session.inputNames.includes('input_values') || !session.outputNames.includes('logits')) {
      throw new Error(`${name}: expected input "input_values" and output "logits", got ${session.inputNames.join(', ')} → ${session.outputNames.join(', ')}`);
    }
    return new HfAudioClassifier(name, ids.map((id) => id2label[String(id)]), session, pre.do_normalize ?? true);
  }

  /** One run per piece: no padding, so no attention mask to get wrong. */
  async classify(pieces: Float32Array[]): Promise<Float32Array> {
    const k = this.labels.length;
    const out = new Float32Array(pieces.length * k);
    for (const [i, piece] of pieces.entries()) {
      const values = this.normalize ? zeroMeanUnitVariance(piece) : piece;
      const feeds: Record<string, ort.Tensor> = { input_values: new ort.Tensor('float32', values, [1, values.length]) };
      if (this.session.inputNames.includes('attention_mask')) {
        feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(values.length).fill(1n), [1, values.length]);
      }
      const result = await this.session.run(feeds);
      const logits = result.logits.data as Float32Array;
      softmaxInto(logits, out, i * k);
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function softmaxInto(logits: Float32Array, out: Float32Array, offset: number): void {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (let j = 0; j < logits.length; j++) sum += out[offset + j] = Math.exp(logits[j] - max);
  for (let j = 0; j < logits.length; j++) out[offset + j] /= sum;
}

export interface EmotionModelConfig {
  /** The installed model (`ModelRegistry.find('emotion', name)`): its format picks the class. */
  model: InstalledModel<'emotion'>;
  runtime: OnnxRuntimeOptions;
  /** Folder of the installed Whisper export a head's features need, by model name. */
  whisperDir: (encoder: string) => string;
}

/** Loads an installed emotion model with the class of its format. */
export async function loadEmotionModel({ model, runtime, whisperDir }: EmotionModelConfig): Promise<EmotionModel> {
  const { name, dir } = model;
  if (model.format === 'hf-audio-classification') return HfAudioClassifier.load({ name, dir, runtime });
  const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as EmotionHeadManifest;
  return WhisperHeadEmotionModel.load({ name, dir, whisperDir: whisperDir(manifest.features.encoder), runtime });
}
