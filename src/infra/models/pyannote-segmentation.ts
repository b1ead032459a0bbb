import * as ort from 'onnxruntime-node';
import type { SegmentationModel } from '../../core/diarization/models';
import { createSession, type OnnxRuntimeOptions } from './onnx-session';

export interface PyannoteSegmentationConfig {
  modelPath: string;
  runtime: OnnxRuntimeOptions;
}

/** Classes of the segmentation-3.0 powerset (3 local speakers, at most 2 at once), in output order. */
const RECEPTIVE_FIELD = 991;
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

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly sizeBytes: number,
  ) {}

  static async load(config: PyannoteSegmentationConfig, sizeBytes = 0): Promise<PyannoteSegmentation> {
    return new PyannoteSegmentation(await createSession(config.modelPath, config.runtime), sizeBytes);
  }

  async run(windows: Float32Array, n: number): Promise<Float32Array> {
    if (windows.length !== n * this.windowSamples) throw new RangeError(`expected ${n} windows of ${this.windowSamples} samples`);
    const out = await this.session.run({ x: new ort.Tensor('float32', windows, [n, 1, this.windowSamples]) });
    const y = out.y;
    const dims = y.dims;
    if (dims[1] !== this.framesPerWindow || dims[2] !== POWERSET.length) throw new Error(`unexpected segmentation output ${dims.join('×')}`);
    return y.data as Float32Array;
  }
}
