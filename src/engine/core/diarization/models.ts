/** What the diarizer needs from its models; the ONNX loaders in src/engine/models implement these. */

/** A sliding-window speaker segmentation model with a powerset output (pyannote segmentation-3.0). */
export interface SegmentationModel {
  readonly sampleRate: number;
  readonly windowSamples: number;
  readonly frameStep: number;
  readonly framesPerWindow: number;
  /** Samples from a frame's start to the centre of its receptive field; a frame stands for one step around it. */
  readonly frameCentre: number;
  readonly localSpeakers: number;
  /** Powerset classes: each is the list of local speakers active in it (the first is silence). */
  readonly powerset: readonly (readonly number[])[];
  /** Log-probabilities, row-major [n × framesPerWindow × powerset.length], for n windows laid end to end. */
  run(windows: Float32Array, n: number): Promise<Float32Array>;
}

/** Half-open sample range [start, end). */
export type SampleRange = readonly [number, number];

/**
 * Turns one speaker's speech into a fixed-size vector; closer in cosine means more likely the same voice.
 * `embed` receives every piece of one file at once, so an embedder can normalise across the file.
 */
export interface SpeakerEmbedder {
  /** Reported as result.dia.embedder. */
  readonly name: string;
  /** How the diarizer clusters this embedder's vectors (each embedder's own scale, measured on DEV data). */
  readonly clustering: EmbeddingClustering;
  embed(audio: Float32Array, pieces: readonly (readonly SampleRange[])[]): Promise<Float32Array[]>;
}

export interface EmbeddingClustering {
  /** Average-linkage cosine distance between two clusters of file-centred embeddings above which they are two voices. */
  voiceDistance: number;
  /** Average-linkage cosine distance between two clusters of raw embeddings under which they are one voice after all. */
  sameVoiceDistance: number;
}
