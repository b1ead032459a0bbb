import { onnx } from 'onnx-proto';
import type { LogisticModel } from '../../../libs/ml/logistic-regression';

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
