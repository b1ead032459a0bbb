import * as ort from 'onnxruntime-node';
import type { SegmentationModel } from '../core/diarization/models';
import type { OnnxRuntimeOptions } from '../../contract/engine-types';
import { createSession } from './onnx-session';

export interface PyannoteSegmentationConfig {
  modelPath: string;
  runtime: OnnxRuntimeOptions;
}

const RECEPTIVE_FIELD = 991;
/** Classes of the segmentation-3.0 powerset (3 local speakers, at most 2 at once), in output order. */
const POWERSET: number[][] = [[], [0], [1], [2], [0, 1], [0, 2], [1, 2]];

/**
 * pyannote segmentation-3.0 (ONNX): 10 s windows of 16 kHz mono in [-1, 1] → per-frame log-probabilities over
 * the powerset classes, one frame every 270 samples (see ../shared/models/segmentation/SOURCE.md).
 */
export class PyannoteSegmentation implements SegmentationModel {
  readonly sampleRate = 16000;
  readonly windowSamples = 160000;
  readonly frameStep = 270;
  readonly framesPerWindow = Math.floor((160000 - RECEPTIVE_FIELD) / 270) + 1;
  readonly frameCentre = Math.floor(RECEPTIVE_FIELD / 2);
  readonly localSpeakers = 3;
  readonly powerset = POWERSET;

  private constructor(private readonly session: ort.InferenceSession) {}

  /** sherpa-onnx's export calls its input `x` and output `y`; the transformers.js one `input_values` and `logits`. */
  private get input(): string {
    return this.session.inputNames[0];
  }

  static async load({ modelPath, runtime }: PyannoteSegmentationConfig): Promise<PyannoteSegmentation> {
    return new PyannoteSegmentation(await createSession(modelPath, runtime));
  }

  async run(windows: Float32Array, n: number): Promise<Float32Array> {
    if (windows.length !== n * this.windowSamples) throw new RangeError(`expected ${n} windows of ${this.windowSamples} samples`);
    const out = await this.session.run({ [this.input]: new ort.Tensor('float32', windows, [n, 1, this.windowSamples]) });
    const y = out[this.session.outputNames[0]];
    const dims = y.dims;
    if (dims[1] !== this.framesPerWindow || dims[2] !== POWERSET.length) throw new Error(`unexpected segmentation output ${dims.join('×')}`);
    return logSoftmaxRows(y.data as Float32Array, POWERSET.length);
  }
}

/**
 * Log-softmax over each row of `width` values, in place. The sherpa-onnx export already gives log-probabilities
 * (then this changes nothing); an export that stops at the logits gets them here.
 */
export function logSoftmaxRows(values: Float32Array, width: number): Float32Array {
  for (let r = 0; r < values.length; r += width) {
    let max = -Infinity;
    for (let c = 0; c < width; c++) max = Math.max(max, values[r + c]);
    let sum = 0;
    for (let c = 0; c < width; c++) sum += Math.exp(values[r + c] - max);
    const logSum = max + Math.log(sum);
    for (let c = 0; c < width; c++) values[r + c] -= logSum;
  }
  return values;
}
