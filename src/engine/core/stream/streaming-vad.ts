/** Voice activity over live audio: several streams scored frame by frame, each with its own recurrent state. */
export interface StreamingVad {
  /** Samples per frame (16 kHz). */
  readonly frameSamples: number;
  /** Fresh state for a new stream; opaque to core. */
  newStream(): object;
  /** frames: one frameSamples-long frame per stream, in the order of `streams`; one speech probability each. */
  scoreFrames(frames: Float32Array, streams: object[]): Promise<Float32Array>;
}
