import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type {
  DecoderOutput,
  DecoderState,
  EncodedAudio,
  WhisperModel,
  WhisperModelConfig,
} from '../core/stt/whisper-model';
import { variableLengthWhisperEncoder } from './encoder-cut';
import { WHISPER_ONNX_FILES } from './model-registry';
import { withOutputs, withPerRowActivationQuantization } from './onnx-graph';
import type { OnnxRuntimeOptions } from '../../contract/engine-types';
import { createSession } from './onnx-session';

export interface WhisperOnnxConfig {
  name: string;
  /** The export's folder, in the transformers.js layout (WHISPER_ONNX_FILES, config.json). */
  dir: string;
  runtime: OnnxRuntimeOptions;
  /**
   * generation_config.json's (via the tokenizer): the cross-attention layers the first pass keeps for word timing;
   * empty: every head of the upper half of the decoder (openai-whisper's fallback).
   */
  alignmentHeads: Array<[number, number]>;
  /**
   * Quantize the decoder's activations per row (withPerRowActivationQuantization), so that a row decodes the same
   * whatever rows share its run, as short requests sharing batches need. It costs time: whisper-small's step took
   * 21.5 instead of 15.5–18 ms for one row, 39 instead of 30 ms for four (2 shared cores).
   */
  rowQuantization: boolean;
}

/** Rows per run of the full-sequence decoder passes (see start, crossAttentions). */
const PREFILL_ROWS = 2;
/** GPUs gain from encoding several windows per run; CPUs lose (see encode). */
const GPU_ENCODER_BATCH = 8;

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
  get frames(): number {
    return this.hidden.dims[1];
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

function upperHalfHeads(layers: number, heads: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let l = Math.floor(layers / 2); l < layers; l++) for (let h = 0; h < heads; h++) out.push([l, h]);
  return out;
}

/** Every row either stays where it is or moves down from beyond the new end: no source is overwritten early. */
function isInPlaceCompaction(rows: ArrayLike<number>): boolean {
  const seen = new Set<number>();
  for (let i = 0; i < rows.length; i++) {
    if ((rows[i] !== i && rows[i] < rows.length) || seen.has(rows[i])) return false;
    seen.add(rows[i]);
  }
  return true;
}

/** Moves only the rows that change place; the result views the front of the same buffer. */
function compactRows(tensor: ort.Tensor, rows: ArrayLike<number>): ort.Tensor {
  const data = tensor.data as Float32Array;
  const stride = data.length / tensor.dims[0];
  for (let i = 0; i < rows.length; i++) {
    if (rows[i] !== i) data.copyWithin(i * stride, rows[i] * stride, (rows[i] + 1) * stride);
  }
  return new ort.Tensor('float32', data.subarray(0, rows.length * stride), [rows.length, ...tensor.dims.slice(1)]);
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
    private readonly encoderBatch: number,
  ) {
    this.headDim = dModel / config.decoderHeads;
    this.selfKvNames = [];
    this.crossKvNames = [];
    for (let l = 0; l < config.decoderLayers; l++) {
      this.selfKvNames.push(`${l}.decoder.key`, `${l}.decoder.value`);
      this.crossKvNames.push(`${l}.encoder.key`, `${l}.encoder.value`);
    }
  }

  static async load({ name, dir, runtime, alignmentHeads, rowQuantization }: WhisperOnnxConfig): Promise<WhisperOnnxModel> {
    const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as HfWhisperConfig;
    if (hf.num_mel_bins !== 80 && hf.num_mel_bins !== 128) {
      throw new Error(`${name}: unsupported num_mel_bins ${hf.num_mel_bins}`);
    }
    const heads: Array<[number, number]> = alignmentHeads.length ? alignmentHeads : upperHalfHeads(hf.decoder_layers, hf.decoder_attention_heads);
    const alignmentOutputs = new Set(heads.map(([layer]) => `cross_attentions.${layer}`));
    const encoderPath = join(dir, WHISPER_ONNX_FILES.encoder);
    const decoderPath = join(dir, WHISPER_ONNX_FILES.decoder);
    // The encoder allocates hundreds of MB per window: without an arena it gives them back after each run. The
    // decoder allocates the same small buffers step after step, which the arena serves best.
    const [encoder, decoder] = await Promise.all([
      createSession(variableLengthWhisperEncoder(withOutputs(encoderPath, (o) => o === 'last_hidden_state')), runtime, { memoryArena: false }),
      createSession(
        (rowQuantization ? withPerRowActivationQuantization : (bytes: Uint8Array) => bytes)(
          withOutputs(decoderPath, (o) => o === 'logits' || o.startsWith('present.') || alignmentOutputs.has(o)),
        ),
        runtime,
        { foldDequantizedWeights: true },
      ),
    ]);
    const config: WhisperModelConfig = {
      name,
      nMels: hf.num_mel_bins,
      decoderLayers: hf.decoder_layers,
      decoderHeads: hf.decoder_attention_heads,
      vocabSize: hf.vocab_size,
      maxTargetPositions: hf.max_target_positions,
      audioFrames: hf.max_source_positions,
      alignmentHeads: heads,
    };
    const sizeBytes = statSync(encoderPath).size + statSync(decoderPath).size;
    const encoderBatch = runtime.device === 'cpu' ? 1 : GPU_ENCODER_BATCH;
    return new WhisperOnnxModel(config, encoder, decoder, hf.d_model, sizeBytes, encoderBatch);
  }

  /**
   * Runs the encoder `encoderBatch` windows at a time and returns one batch. Windows may be shorter than 30 s (any
   * even number of mel frames up to 3000): the encoder's positional table is cut to their length. On CPU one window per run is both
   * faster per window and far smaller: the self-attention of each window costs hundreds of MB while it runs.
   */
  async encode(features: Float32Array, batch: number): Promise<EncodedAudio> {
    const perWindow = features.length / batch;
    const frames = perWindow / this.config.nMels;
    let hidden: Float32Array | null = null;
    let dims: readonly number[] = [];
    for (let from = 0; from < batch; from += this.encoderBatch) {
      const n = Math.min(this.encoderBatch, batch - from);
      const input = new ort.Tensor('float32', features.subarray(from * perWindow, (from + n) * perWindow), [n, this.config.nMels, frames]);
      const out = (await this.encoder.run({ input_features: input }, ['last_hidden_state'])).last_hidden_state;
      if (n === batch) return new OnnxEncodedAudio(out);
      const data = out.data as Float32Array;
      const rowSize = data.length / n;
      hidden ??= new Float32Array(rowSize * batch);
      dims = out.dims;
      hidden.set(data, from * rowSize);
    }
    return new OnnxEncodedAudio(new ort.Tensor('float32', hidden!, [batch, ...dims.slice(1)]));
  }

  selectAudio(audio: EncodedAudio, rows: ArrayLike<number>): EncodedAudio {
    const hidden = (audio as OnnxEncodedAudio).hidden;
    return isIdentity(rows, hidden.dims[0]) ? audio : new OnnxEncodedAudio(gatherRows(hidden, rows));
  }

  /**
   * The first pass, PREFILL_ROWS rows per run: its outputs (the cross-attention cache above all) are copied out of
   * onnxruntime, so running the whole batch at once would hold that cache twice, plus its intermediates, and the
   * decoder's arena would keep that peak.
   */
  async start(audio: EncodedAudio, tokens: Int32Array, promptLength: number): Promise<DecoderOutput> {
    const rows = audio.batch;
    const names = [...this.selfKvNames, ...this.crossKvNames].map((n) => `present.${n}`);
    const vocab = this.config.vocabSize;
    const logits = new Float32Array(rows * vocab);
    let merged: ort.Tensor[] = [];
    for (let from = 0; from < rows; from += PREFILL_ROWS) {
      const part = Array.from({ length: Math.min(PREFILL_ROWS, rows - from) }, (_, i) => from + i);
      const feeds = this.firstPassFeeds(this.selectAudio(audio, part), tokens.subarray(from * promptLength, (from + part.length) * promptLength), promptLength);
      const out = await this.decoder.run(feeds, ['logits', ...names]);
      logits.set(lastPositionLogits(out.logits), from * vocab);
      if (part.length === rows) {
        merged = names.map((n) => out[n]);
        break;
      }
      if (!merged.length) {
        merged = names.map((n) => new ort.Tensor('float32', new Float32Array((out[n].data.length / part.length) * rows), [rows, ...out[n].dims.slice(1)]));
      }
      names.forEach((n, i) => (merged[i].data as Float32Array).set(out[n].data as Float32Array, (from * out[n].data.length) / part.length));
    }
    const selfCount = this.selfKvNames.length;
    return { logits, state: new OnnxDecoderState(merged.slice(0, selfCount), merged.slice(selfCount), promptLength) };
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

  /** Consumes `state`: when rows only drop or fill freed slots from the end, it is compacted in place. */
  selectRows(state: DecoderState, rows: ArrayLike<number>): DecoderState {
    const s = state as OnnxDecoderState;
    if (isIdentity(rows, s.rows)) return s;
    const select = isInPlaceCompaction(rows) ? compactRows : gatherRows;
    return new OnnxDecoderState(s.selfKv.map((t) => select(t, rows)), s.crossKv.map((t) => select(t, rows)), s.length);
  }

  reorderRows(state: DecoderState, rows: ArrayLike<number>): DecoderState {
    const s = state as OnnxDecoderState;
    if (isIdentity(rows, s.rows)) return s;
    return new OnnxDecoderState(s.selfKv.map((t) => gatherRows(t, rows)), s.crossKv, s.length);
  }

  /** PREFILL_ROWS rows per run: the pass also yields logits for every position, 200 KB per token and row. */
  async crossAttentions(audio: EncodedAudio, tokens: Int32Array, length: number): Promise<Float32Array> {
    const heads = this.config.alignmentHeads;
    const rows = audio.batch;
    const layers = [...new Set(heads.map(([layer]) => layer))];
    const frames = audio.frames;
    const perHead = length * frames;
    const result = new Float32Array(rows * heads.length * perHead);
    for (let from = 0; from < rows; from += PREFILL_ROWS) {
      const part = Array.from({ length: Math.min(PREFILL_ROWS, rows - from) }, (_, i) => from + i);
      const feeds = this.firstPassFeeds(this.selectAudio(audio, part), tokens.subarray(from * length, (from + part.length) * length), length);
      const out = await this.decoder.run(feeds, layers.map((l) => `cross_attentions.${l}`));
      part.forEach((row, r) => {
        heads.forEach(([layer, head], h) => {
          // cross_attentions.{layer}: [rows, decoderHeads, length, frames]
          const data = out[`cross_attentions.${layer}`].data as Float32Array;
          const at = (r * this.config.decoderHeads + head) * perHead;
          result.set(data.subarray(at, at + perHead), (row * heads.length + h) * perHead);
        });
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
