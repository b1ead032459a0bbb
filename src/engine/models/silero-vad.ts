import * as ort from 'onnxruntime-node';
import type { SpeechProbabilityModel } from '../core/audio/vad';
import type { StreamingVad } from '../core/stream/streaming-vad';
import type { OnnxRuntimeOptions } from '../../contract/engine-types';
import { createSession } from './onnx-session';

export interface SileroVadConfig {
  /** `ModelRegistry.chosen('vad')`'s path. */
  modelPath: string;
  runtime: OnnxRuntimeOptions;
}

const SAMPLE_RATE = 16000;
const FRAME = 512;
/** Trailing samples of the previous frame that the model expects in front of each frame. */
const CONTEXT = 64;
const STATE_SIZE = 2 * 128; // state is [2, batch, 128]
/** Longest stretch (~60 s) scored by one stream; longer audio runs as a batch of streams. */
const STREAM_FRAMES = 1875;
/**
 * Frames of preceding audio (8 s) a stream (but the first) runs over before scoring its own,
 * to settle the recurrent state. Shorter warm-ups flipped noticeably more speech/silence
 * decisions near stream starts on the dev set.
 */
const WARMUP_FRAMES = 256;

/** Recurrent state of one live stream: the model's state and the last CONTEXT samples it saw. */
interface SileroStream {
  state: Float32Array;
  context: Float32Array;
}

/** Silero VAD (v5/v6 ONNX) over 16 kHz mono audio. */
export class SileroVad implements SpeechProbabilityModel, StreamingVad {
  readonly frameSamples = FRAME;
  private readonly sampleRate = new ort.Tensor('int64', BigInt64Array.of(BigInt(SAMPLE_RATE)), []);

  private constructor(private readonly session: ort.InferenceSession) {}

  static async load({ modelPath, runtime }: SileroVadConfig): Promise<SileroVad> {
    return new SileroVad(await createSession(modelPath, runtime));
  }

  /**
   * Speech probability per 512-sample frame (last partial frame zero-padded). The model is
   * recurrent and costs mostly per call, not per frame, so audio over ~60 s is cut into equal
   * stretches scored side by side as one batch, each from a fresh state after an 8 s warm-up
   * over the audio before it: ~2.5x the throughput of one frame per call. Speech regions match
   * a single pass up to the model's own sensitivity to where it starts (dev set: same missed
   * and false speech against the references, within 0.7 s of 406 s).
   */
  async speechProbabilities(samples: Float32Array): Promise<Float32Array> {
    const frames = Math.ceil(samples.length / FRAME);
    const probs = new Float32Array(frames);
    if (frames === 0) return probs;
    const batch = Math.ceil(frames / STREAM_FRAMES);
    const span = Math.ceil(frames / batch); // stream b scores frames [b*span, (b+1)*span)
    const warmup = batch > 1 ? WARMUP_FRAMES : 0;
    const first = Int32Array.from({ length: batch }, (_, b) => b * span - (b > 0 ? warmup : 0));

    const row = CONTEXT + FRAME;
    const input = new Float32Array(batch * row);
    const inputTensor = new ort.Tensor('float32', input, [batch, row]);
    let state: ort.Tensor = new ort.Tensor('float32', new Float32Array(batch * STATE_SIZE), [2, batch, 128]);
    for (let t = 0; t < span + warmup; t++) {
      for (let b = 0; b < batch; b++) {
        const o = b * row;
        const f = first[b] + t;
        input.copyWithin(o, o + FRAME, o + row);
        const from = Math.min(samples.length, f * FRAME);
        const to = Math.min(samples.length, from + FRAME);
        input.set(samples.subarray(from, to), o + CONTEXT);
        input.fill(0, o + CONTEXT + (to - from), o + row);
      }
      // ORT is done with the inputs once run() resolves, so one buffer serves every call.
      const out = await this.session.run({ input: inputTensor, state, sr: this.sampleRate });
      const p = out.output.data as Float32Array;
      for (let b = 0; b < batch; b++) {
        const f = first[b] + t;
        if (f >= b * span && f < (b + 1) * span && f < frames) probs[f] = p[b];
      }
      state = out.stateN;
    }
    return probs;
  }

  newStream(): SileroStream {
    return { state: new Float32Array(STATE_SIZE), context: new Float32Array(CONTEXT) };
  }

  /**
   * The next frame of each of several live streams, scored as one batch: `frames` holds one FRAME-long frame per
   * stream; each stream's state moves on in place.
   */
  async scoreFrames(frames: Float32Array, streams: object[]): Promise<Float32Array> {
    const batch = streams.length;
    const row = CONTEXT + FRAME;
    const half = STATE_SIZE / 2;
    const input = new Float32Array(batch * row);
    const state = new Float32Array(batch * STATE_SIZE);
    streams.forEach((s, b) => {
      const { state: h, context } = s as SileroStream;
      input.set(context, b * row);
      input.set(frames.subarray(b * FRAME, (b + 1) * FRAME), b * row + CONTEXT);
      // [2, batch, 128]: both halves of each stream's state go to their own plane.
      state.set(h.subarray(0, half), b * half);
      state.set(h.subarray(half), (batch + b) * half);
    });
    const out = await this.session.run({
      input: new ort.Tensor('float32', input, [batch, row]),
      state: new ort.Tensor('float32', state, [2, batch, 128]),
      sr: this.sampleRate,
    });
    const next = out.stateN.data as Float32Array;
    streams.forEach((s, b) => {
      const stream = s as SileroStream;
      stream.state.set(next.subarray(b * half, (b + 1) * half), 0);
      stream.state.set(next.subarray((batch + b) * half, (batch + b + 1) * half), half);
      stream.context.set(input.subarray(b * row + FRAME, (b + 1) * row));
    });
    return Float32Array.from(out.output.data as Float32Array);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
