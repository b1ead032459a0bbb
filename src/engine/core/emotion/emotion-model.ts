/** What the emotion levels need from a model: core owns this interface, infra implements it (ONNX). */
export interface EmotionModel {
  /** Name as users select it (settings.emo.model). */
  readonly name: string;
  /** Labels in the order of the score rows. */
  readonly labels: readonly string[];
  /** Longest piece of audio (in samples at 16 kHz) scored as one unit; longer spans are cut and averaged. */
  readonly windowSamples: number;
  /** The label is neutral unless another label's score beats neutral's by this much (0: plain argmax). */
  readonly neutralMargin: number;
  /** Probabilities [pieces.length × labels.length] of 16 kHz mono pieces, each at most windowSamples long. */
  classify(pieces: Float32Array[]): Promise<Float32Array>;
  release(): Promise<void>;
}
