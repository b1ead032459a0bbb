import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { meanStdPool, shortWindowLogMel, validFrames } from '../../../libs/features/pooling';
import { WHISPER_SAMPLE_RATE } from '../../../libs/features/mel';
import { cutWhisperEncoder } from './encoder-cut';
import type { OnnxRuntimeOptions } from '../../contract/engine-types';
import { WHISPER_ONNX_FILES } from './model-registry';
import { createSession } from './onnx-session';

/** How audio becomes a feature vector; stored in a head's model.json so training and inference agree. */
export interface WhisperFeatureRecipe {
  /** Whisper model whose encoder makes the features (an installed speech-to-text model name). */
  encoder: string;
  /** Encoder tensor that is pooled. */
  output: string;
  width: number;
  nMels: 80 | 128;
  /** Window length: audio pieces are at most this long, shorter ones are zero-padded to it. */
  window_s: number;
  pooling: 'mean+std';
}

export interface WhisperFeatureEncoderConfig {
  /** The installed Whisper export named by `recipe.encoder`. */
  whisperDir: string;
  recipe: WhisperFeatureRecipe;
  runtime: OnnxRuntimeOptions;
}

/**
 * Pieces per encoder run: one. The int8 graph quantises activations with a scale taken over the whole batch, so a
 * piece batched with others would get slightly different features than alone (as the head was trained); batching
 * the encoder is no faster per window on CPU either.
 */
const BATCH = 1;

/** A Whisper encoder cut after an inner block, turning audio pieces into pooled feature vectors. */
export class WhisperFeatureEncoder {
  readonly dim: number;
  readonly windowSamples: number;
  private readonly frames: number;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly recipe: WhisperFeatureRecipe,
  ) {
    this.dim = 2 * recipe.width;
    this.frames = Math.round(recipe.window_s * 50);
    this.windowSamples = Math.round(recipe.window_s * WHISPER_SAMPLE_RATE);
  }

  static async load({ whisperDir, recipe, runtime }: WhisperFeatureEncoderConfig): Promise<WhisperFeatureEncoder> {
    if (recipe.pooling !== 'mean+std') throw new Error(`unknown pooling "${recipe.pooling}"`);
    const frames = Math.round(recipe.window_s * 50);
    const bytes = cutWhisperEncoder(join(whisperDir, WHISPER_ONNX_FILES.encoder), { output: recipe.output, frames, width: recipe.width });
    return new WhisperFeatureEncoder(await createSession(bytes, runtime), recipe);
  }

  /** Feature vectors [pieces.length × dim] of audio pieces (16 kHz mono, each at most window_s long). */
  async embed(pieces: Float32Array[]): Promise<Float32Array> {
    const { nMels, width } = this.recipe;
    const melFrames = 2 * this.frames;
    const out = new Float32Array(pieces.length * this.dim);
    for (let first = 0; first < pieces.length; first += BATCH) {
      const batch = pieces.slice(first, first + BATCH);
      const mel = new Float32Array(batch.length * nMels * melFrames);
      batch.forEach((p, i) => shortWindowLogMel(p, nMels, melFrames, mel, i * nMels * melFrames));
      const feeds = { input_features: new ort.Tensor('float32', mel, [batch.length, nMels, melFrames]) };
      const result = await this.session.run(feeds);
      const hidden = result[this.recipe.output].data as Float32Array;
      batch.forEach((p, i) => {
        const valid = validFrames(Math.min(p.length, this.windowSamples), this.frames);
        meanStdPool(hidden, i * this.frames * width, width, valid, out, (first + i) * this.dim);
      });
      for (const t of Object.values(result)) t.dispose();
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
