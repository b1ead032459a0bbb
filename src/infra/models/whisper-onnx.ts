import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type {
  DecoderOutput,
  DecoderState,
  EncodedAudio,
  WhisperModel,
  WhisperModelConfig,
} from '../../core/stt/whisper-model';
import { createSession, type OnnxRuntimeOptions } from './onnx-session';

/** File names of the transformers.js / optimum int8 export. */
export const WHISPER_ONNX_FILES = {
  encoder: 'onnx/encoder_model_quantized.onnx',
  decoder: 'onnx/decoder_model_merged_quantized.onnx',
} as const;

interface HfWhisperConfig {
  num_mel_bins: number;
  decoder_layers: number;
  decoder_attention_heads: number;
  d_model: number;
  vocab_size: number;
  max_target_positions: number;
  max_source_positions: number;
}

class OnnxEncodedAudio implements EncodedAudio {
  constructor(readonly hidden: ort.Tensor) {}
  get batch(): number {
    return this.hidden.dims[0];
  }
}

class OnnxDecoderState implements DecoderState {
  constructor(
    /** present.{layer}.decoder.{key,value}, [rows, heads, length, headDim] each. */
    readonly selfKv: ort.Tensor[],
    /** present.{layer}.encoder.{key,value}, [rows, heads, frames, headDim] each. */
    readonly crossKv: ort.Tensor[],
    readonly length: number,
  ) {}
  get rows(): number {
    return this.selfKv[0].dims[0];
  }
}

/** Rows of a float tensor whose first dimension is the batch. */
function gatherRows(tensor: ort.Tensor, rows: ArrayLike<number>): ort.Tensor {
  const dims = tensor.dims;
  const src = tensor.data as Float32Array;
  const stride = src.length / dims[0];
  const out = new Float32Array(stride * rows.length);
  for (let i = 0; i < rows.length; i++) out.set(src.subarray(rows[i] * stride, (rows[i] + 1) * stride), i * stride);
  return new ort.Tensor('float32', out, [rows.length, ...dims.slice(1)]);
}

function isIdentity(rows: ArrayLike<number>, count: number): boolean {
  if (rows.length !== count) return false;
  for (let i = 0; i < count; i++) if (rows[i] !== i) return false;
  return true;
}

/** Logits of the last position of every row, copied out of [rows, length, vocab]. */
function lastPositionLogits(logits: ort.Tensor): Float32Array {
  const [rows, length, vocab] = logits.dims;
  const data = logits.data as Float32Array;
  if (length === 1) return data;
  const out = new Float32Array(rows * vocab);
  for (let r = 0; r < rows; r++) {
    const from = (r * length + length - 1) * vocab;
    out.set(data.subarray(from, from + vocab), r * vocab);
  }
  return out;
}

/**
 * Whisper as two ONNX sessions: the encoder and the merged decoder (one graph with a no-cache branch for the
 * first pass and a cached branch for every further step). Steps fetch only logits and the self-attention KV:
 * the cross-attention KV is computed once per batch and passed back in, never copied out again.
 */
export class WhisperOnnxModel implements WhisperModel {
  private readonly selfKvNames: string[];
  private readonly crossKvNames: string[];
  private readonly headDim: number;

  private constructor(
    readonly config: WhisperModelConfig,
    private readonly encoder: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
    dModel: number,
    /** Bytes of the ONNX files, for the model cache's size accounting. */
    readonly sizeBytes: number,
  ) {
    this.headDim = dModel / config.decoderHeads;
    this.selfKvNames = [];
    this.crossKvNames = [];
    for (let l = 0; l < config.decoderLayers; l++) {
      this.selfKvNames.push(`${l}.decoder.key`, `${l}.decoder.value`);
      this.crossKvNames.push(`${l}.encoder.key`, `${l}.encoder.value`);
    }
  }

  static async load(name: string, dir: string, runtime: OnnxRuntimeOptions): Promise<WhisperOnnxModel> {
    const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as HfWhisperConfig;
    if (hf.num_mel_bins !== 80 && hf.num_mel_bins !== 128) {
      throw new Error(`${name}: unsupported num_mel_bins ${hf.num_mel_bins}`);
    }
    const encoderPath = join(dir, WHISPER_ONNX_FILES.encoder);
    const decoderPath = join(dir, WHISPER_ONNX_FILES.decoder);
    const [encoder, decoder] = await Promise.all([
      createSession(encoderPath, runtime),
      createSession(decoderPath, runtime),
    ]);
    const config: WhisperModelConfig = {
      name,
      nMels: hf.num_mel_bins,
      decoderLayers: hf.decoder_layers,
      decoderHeads: hf.decoder_attention_heads,
      vocabSize: hf.vocab_size,
      maxTargetPositions: hf.max_target_positions,
      audioFrames: hf.max_source_positions,
    };
    const sizeBytes = statSync(encoderPath).size + statSync(decoderPath).size;
    return new WhisperOnnxModel(config, encoder, decoder, hf.d_model, sizeBytes);
  }

  async encode(features: Float32Array, batch: number): Promise<EncodedAudio> {
    const input = new ort.Tensor('float32', features, [batch, this.config.nMels, features.length / batch / this.config.nMels]);
    const out = await this.encoder.run({ input_features: input }, ['last_hidden_state']);
    return new OnnxEncodedAudio(out.last_hidden_state);
  }

  selectAudio(audio: EncodedAudio, rows: ArrayLike<number>): EncodedAudio {
    const hidden = (audio as OnnxEncodedAudio).hidden;
    return isIdentity(rows, hidden.dims[0]) ? audio : new OnnxEncodedAudio(gatherRows(hidden, rows));
  }

  async start(audio: EncodedAudio, tokens: Int32Array, promptLength: number): Promise<DecoderOutput> {
    const feeds = this.firstPassFeeds(audio, tokens, promptLength);
    const fetches = ['logits', ...this.selfKvNames.map((n) => `present.${n}`), ...this.crossKvNames.map((n) => `present.${n}`)];
    const out = await this.decoder.run(feeds, fetches);
    const state = new OnnxDecoderState(
      this.selfKvNames.map((n) => out[`present.${n}`]),
      this.crossKvNames.map((n) => out[`present.${n}`]),
      promptLength,
    );
    return { logits: lastPositionLogits(out.logits), state };
  }

  async step(state: DecoderState, tokens: Int32Array): Promise<DecoderOutput> {
    const s = state as OnnxDecoderState;
    const rows = s.rows;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: this.tokenTensor(tokens, rows, 1),
      // Unused by the cached branch, but the graph still declares it: a one-frame placeholder avoids a copy.
      encoder_hidden_states: new ort.Tensor('float32', new Float32Array(rows * this.headDim * this.config.decoderHeads), [
        rows,
        1,
        this.headDim * this.config.decoderHeads,
      ]),
      use_cache_branch: new ort.Tensor('bool', [true], [1]),
    };
    this.selfKvNames.forEach((n, i) => (feeds[`past_key_values.${n}`] = s.selfKv[i]));
    this.crossKvNames.forEach((n, i) => (feeds[`past_key_values.${n}`] = s.crossKv[i]));
    const out = await this.decoder.run(feeds, ['logits', ...this.selfKvNames.map((n) => `present.${n}`)]);
    const next = new OnnxDecoderState(
      this.selfKvNames.map((n) => out[`present.${n}`]),
      s.crossKv,
      s.length + 1,
    );
    return { logits: lastPositionLogits(out.logits), state: next };
  }

  selectRows(state: DecoderState, rows: ArrayLike<number>): DecoderState {
    const s = state as OnnxDecoderState;
    if (isIdentity(rows, s.rows)) return s;
    return new OnnxDecoderState(
      s.selfKv.map((t) => gatherRows(t, rows)),
      s.crossKv.map((t) => gatherRows(t, rows)),
      s.length,
    );
  }

  async crossAttentions(
    audio: EncodedAudio,
    tokens: Int32Array,
    length: number,
    heads: ReadonlyArray<readonly [number, number]>,
  ): Promise<Float32Array> {
    const feeds = this.firstPassFeeds(audio, tokens, length);
    const rows = audio.batch;
    const layers = [...new Set(heads.map(([layer]) => layer))];
    const out = await this.decoder.run(feeds, layers.map((l) => `cross_attentions.${l}`));
    const frames = this.config.audioFrames;
    const perHead = length * frames;
    const result = new Float32Array(rows * heads.length * perHead);
    for (let r = 0; r < rows; r++) {
      heads.forEach(([layer, head], h) => {
        // cross_attentions.{layer}: [rows, decoderHeads, length, frames]
        const data = out[`cross_attentions.${layer}`].data as Float32Array;
        const from = (r * this.config.decoderHeads + head) * perHead;
        result.set(data.subarray(from, from + perHead), (r * heads.length + h) * perHead);
      });
    }
    return result;
  }

  /** Inputs of the no-cache branch: the whole token sequence against the encoder output, no past. */
  private firstPassFeeds(audio: EncodedAudio, tokens: Int32Array, length: number): Record<string, ort.Tensor> {
    const hidden = (audio as OnnxEncodedAudio).hidden;
    const rows = hidden.dims[0];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: this.tokenTensor(tokens, rows, length),
      encoder_hidden_states: hidden,
      use_cache_branch: new ort.Tensor('bool', [false], [1]),
    };
    const emptyPast = new ort.Tensor('float32', new Float32Array(0), [rows, this.config.decoderHeads, 0, this.headDim]);
    for (const n of [...this.selfKvNames, ...this.crossKvNames]) feeds[`past_key_values.${n}`] = emptyPast;
    return feeds;
  }

  private tokenTensor(tokens: Int32Array, rows: number, length: number): ort.Tensor {
    const ids = new BigInt64Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) ids[i] = BigInt(tokens[i]);
    return new ort.Tensor('int64', ids, [rows, length]);
  }

  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.decoder.release()]);
  }
}
