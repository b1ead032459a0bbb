/**
 * Small ONNX graphs with the input/output names and shapes of real speaker-embedding exports (WeSpeaker,
 * 3D-Speaker, NeMo): each takes the max over time of the fbank bins in BINS, so its output shows exactly which
 * features it was fed.
 */
import { onnx } from 'onnx-proto';

export const BINS = [5, 20, 40, 70];

function dim(d: number | string): onnx.TensorShapeProto.IDimension {
  return typeof d === 'number' ? { dimValue: d } : { dimParam: d };
}

export function valueInfo(name: string, elemType: number, dims: Array<number | string>): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map(dim) } } } };
}

/** features → ReduceMax over time → MatMul with a 80×4 selector of BINS → output. */
export function embeddingGraph(kind: 'time-major' | 'nemo', names: { input: string; output: string }, meta: Record<string, string> = {}): Uint8Array {
  const selector = new Float32Array(80 * 4);
  BINS.forEach((b, j) => (selector[b * 4 + j] = 1));
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const inputs = [valueInfo(names.input, FLOAT, kind === 'nemo' ? ['N', 80, 'T'] : ['N', 'T', 80])];
  if (kind === 'nemo') inputs.push(valueInfo('length', onnx.TensorProto.DataType.INT64, ['N']));
  const outputs = [valueInfo(names.output, FLOAT, ['N', 4])];
  const nodes: onnx.INodeProto[] = [
    {
      opType: 'ReduceMax',
      input: [names.input],
      output: ['pooled'],
      attribute: [
        { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [kind === 'nemo' ? 2 : 1] },
        { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
      ],
    },
    { opType: 'MatMul', input: ['pooled', 'selector'], output: [names.output] },
  ];
  if (kind === 'nemo') {
    nodes.push({ opType: 'Identity', input: [names.output], output: ['logits'] });
    outputs.push(valueInfo('logits', FLOAT, ['N', 4]));
  }
  const model: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'speaker-embedding-test',
      node: nodes,
      input: inputs,
      output: outputs,
      initializer: [{ name: 'selector', dataType: FLOAT, dims: [80, 4], rawData: new Uint8Array(selector.buffer) }],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}
