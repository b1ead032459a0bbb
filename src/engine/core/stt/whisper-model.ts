/**
 * What the Whisper decoding loop needs from a model runtime. Core owns this interface; infra implements it
 * (ONNX today). Everything crossing it is a typed array, so the loop stays independent of the runtime.
 */
export interface WhisperModelConfig {
  /** Name as users select it, e.g. "whisper-tiny". */
  name: string;
  nMels: 80 | 128;
  decoderLayers: number;
  decoderHeads: number;
  vocabSize: number;
  /** Longest token sequence the decoder accepts (448 for every Whisper size). */
  maxTargetPositions: number;
  /** Encoder frames per 30 s window (1500). */
  audioFrames: number;
  /** Cross-attention (layer, head) pairs that follow the audio in time: word timing reads these. */
  alignmentHeads: Array<[number, number]>;
}

/** Encoder output of a batch; opaque to core. */
export interface EncodedAudio {
  readonly batch: number;
  /** Encoder frames per window: audioFrames for 30 s windows, fewer for shorter ones. */
  readonly frames: number;
}

/** Decoder KV state of a batch of rows; opaque to core. */
export interface DecoderState {
  readonly rows: number;
  /** Tokens already consumed per row (same for every row). */
  readonly length: number;
}

export interface DecoderOutput {
  /** Logits of the last position of every row: [rows * vocabSize]. */
  logits: Float32Array;
  state: DecoderState;
}

export interface WhisperModel {
  readonly config: WhisperModelConfig;
  /** features: [batch * nMels * melFrames] log-mel windows; melFrames is even and at most 3000 (30 s). */
  encode(features: Float32Array, batch: number): Promise<EncodedAudio>;
  /** Repeat/select encoder rows: row i of the result is row `rows[i]` of `audio`. */
  selectAudio(audio: EncodedAudio, rows: ArrayLike<number>): EncodedAudio;
  /** First decoder pass over a prompt of equal length for every row: tokens [rows * promptLength]. */
  start(audio: EncodedAudio, tokens: Int32Array, promptLength: number): Promise<DecoderOutput>;
  /** One cached step: one new token per row. */
  step(state: DecoderState, tokens: Int32Array): Promise<DecoderOutput>;
  /** Keep or reorder rows of a decoder state, their audio included (windows leaving the batch). */
  selectRows(state: DecoderState, rows: ArrayLike<number>): DecoderState;
  /** Row i continues the hypothesis of row rows[i], which decodes the same window (beam search): cheaper than selectRows. */
  reorderRows(state: DecoderState, rows: ArrayLike<number>): DecoderState;
  /**
   * Teacher-forced pass for word alignment: cross-attention weights of the alignment heads for tokens
   * [rows * length] → [rows * alignmentHeads.length * length * audio.frames].
   */
  crossAttentions(audio: EncodedAudio, tokens: Int32Array, length: number): Promise<Float32Array>;
  release(): Promise<void>;
}
