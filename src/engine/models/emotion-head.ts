import { onnx } from 'onnx-proto';
import type { LogisticModel } from '../../../libs/ml/logistic-regression';
import type { WhisperFeatureRecipe } from './whisper-feature-encoder';

/** Features of the built-in head: whisper-base encoder block 3 of 6 (residual output), mean+std over a 6 s window. */
export const DEFAULT_FEATURE_RECIPE: WhisperFeatureRecipe = {
  encoder: 'whisper-base',
  output: '/layers.2/Add_1_output_0',
  width: 512,
  nMels: 80,
  window_s: 6,
  pooling: 'mean+std',
};

/**
 * Loudness every piece is brought to before the encoder (heads trained with it say so in model.json): RMS −23 dBFS,
 * gain limited to ±30 dB.
 */
export const DEFAULT_LOUDNESS = { target_dbfs: -23, max_gain_db: 30 };

/** model.json of a head trained by `npm run train:emotion`. */
export interface EmotionHeadManifest {
  name: string;
  kind: 'whisper-head';
  labels: string[];
  /** ONNX file of the head, relative to the model folder. */
  head: string;
  features: WhisperFeatureRecipe;
  /** Each piece scaled to this RMS level before the encoder; absent: pieces as they are (older heads). */
  loudness?: { target_dbfs: number; max_gain_db: number };
  /** The label is neutral unless another label's score beats neutral's by this much (absent: 0, plain argmax). */
  decision?: { neutral_margin: number };
  /** Temperature already folded into the head, and the calibration error it was measured to give. */
  calibration?: Record<string, unknown>;
  training: Record<string, unknown>;
  cv: Record<string, unknown>;
  licence: string;
}

export const HEAD_INPUT = 'features';
export const HEAD_OUTPUT = 'scores';

function floatTensor(name: string, dims: number[], values: Float64Array): onnx.TensorProto {
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(Float32Array.from(values).buffer),
  });
}

function floatValue(name: string, dims: Array<number | string>): onnx.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

/** A linear classifier as ONNX: features [batch × dim] → MatMul → Add → Softmax → scores [batch × classes]. */
export function linearHeadOnnx(model: LogisticModel, producer: string): Uint8Array {
  const graph = onnx.GraphProto.create({
    name: 'emotion_head',
    node: [
      onnx.NodeProto.create({ opType: 'MatMul', input: [HEAD_INPUT, 'weights'], output: ['logits_raw'], name: 'matmul' }),
      onnx.NodeProto.create({ opType: 'Add', input: ['logits_raw', 'bias'], output: ['logits'], name: 'add' }),
      onnx.NodeProto.create({
        opType: 'Softmax', input: ['logits'], output: [HEAD_OUTPUT], name: 'softmax',
        attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 })],
      }),
    ],
    initializer: [floatTensor('weights', [model.dim, model.classes], model.weights), floatTensor('bias', [model.classes], model.bias)],
    input: [floatValue(HEAD_INPUT, ['batch', model.dim])],
    output: [floatValue(HEAD_OUTPUT, ['batch', model.classes])],
  });
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: producer,
    opsetImport: [{ domain: '', version: 17 }],
    graph,
  });
  return onnx.ModelProto.encode(proto).finish();
}
