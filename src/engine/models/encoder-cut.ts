import { readFileSync } from 'node:fs';
import { onnx } from 'onnx-proto';

export interface EncoderCut {
  /** Tensor that becomes the only graph output, e.g. "/layers.2/Add_1_output_0" (block 3's residual output). */
  output: string;
  /** Encoder frames per window: the position table keeps this many rows, so inputs are 2 × frames mel frames long. */
  frames: number;
  /** Width of the hidden state (512 for whisper-base). */
  width: number;
}

const POSITION_TABLE = 'embed_positions.weight';
/** Prefix of the tensors and nodes that variableLengthWhisperEncoder adds. */
const VARIABLE_LENGTH = '/earshot_variable_length';

/**
 * The Whisper encoder export at `path` cut after the tensor `cut.output`: only the nodes that tensor needs stay,
 * and the positional table is cut to `cut.frames` rows so the encoder takes short windows instead of 30 s ones.
 */
export function cutWhisperEncoder(path: string, cut: EncoderCut): Uint8Array {
  const model = onnx.ModelProto.decode(readFileSync(path));
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const producer = new Map<string, onnx.INodeProto>();
  for (const node of nodes) for (const out of node.output ?? []) producer.set(out, node);
  if (!producer.has(cut.output)) throw new Error(`${path}: no tensor "${cut.output}" to cut at`);

  const needed = new Set<onnx.INodeProto>();
  const used = new Set<string>();
  const stack = [cut.output];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (used.has(name)) continue;
    used.add(name);
    const node = producer.get(name);
    if (node && !needed.has(node)) {
      needed.add(node);
      stack.push(...(node.input ?? []).filter((i) => i !== ''));
    }
  }
  graph.node = nodes.filter((n) => needed.has(n));
  graph.initializer = (graph.initializer ?? []).filter((t) => used.has(t.name ?? ''));
  graph.valueInfo = [];

  const table = graph.initializer.find((t) => t.name === POSITION_TABLE);
  if (!table?.rawData || Number(table.dims?.[1]) !== cut.width) throw new Error(`${path}: no ${POSITION_TABLE} of width ${cut.width}`);
  if (cut.frames > Number(table.dims![0])) throw new Error(`${path}: ${cut.frames} frames exceed the position table`);
  table.rawData = table.rawData.slice(0, cut.frames * cut.width * 4);
  table.dims = [cut.frames, cut.width];

  graph.output = [
    onnx.ValueInfoProto.create({
      name: cut.output,
      type: {
        tensorType: {
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: { dim: [{ dimParam: 'batch' }, { dimValue: cut.frames }, { dimValue: cut.width }] },
        },
      },
    }),
  ];
  return onnx.ModelProto.encode(model).finish();
}

/**
 * A Whisper encoder export (ONNX bytes) with its positional table sliced to the length of each input (whisper.cpp's
 * `audio_ctx`): it takes any even number of mel frames, not only 3000, and returns half as many encoder frames.
 * The export adds the whole [1500 × width] table to the convolutions' output; this adds the first rows instead.
 */
export function variableLengthWhisperEncoder(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const add = nodes.find((n) => n.opType === 'Add' && (n.input ?? []).includes(POSITION_TABLE));
  if (!add) throw new Error(`encoder graph: no Add of ${POSITION_TABLE}`);
  const hidden = add.input!.find((i) => i !== POSITION_TABLE)!;
  const int64 = (name: string, values: number[]): onnx.ITensorProto =>
    onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], int64Data: values });
  const name = (suffix: string): string => `${VARIABLE_LENGTH}/${suffix}`;
  graph.initializer!.push(int64(name('zero'), [0]), int64(name('one'), [1]), int64(name('two'), [2]));
  // hidden is [batch, frames, width]: its frame count is Shape(hidden)[1:2].
  const sliceNodes = [
    onnx.NodeProto.create({ opType: 'Shape', name: name('Shape'), input: [hidden], output: [name('shape')] }),
    onnx.NodeProto.create({ opType: 'Slice', name: name('Frames'), input: [name('shape'), name('one'), name('two'), name('zero')], output: [name('frames')] }),
    onnx.NodeProto.create({ opType: 'Slice', name: name('Table'), input: [POSITION_TABLE, name('zero'), name('frames'), name('zero')], output: [name('table')] }),
  ];
  add.input = add.input!.map((i) => (i === POSITION_TABLE ? name('table') : i));
  graph.node = [...nodes.slice(0, nodes.indexOf(add)), ...sliceNodes, ...nodes.slice(nodes.indexOf(add))];
  graph.valueInfo = [];
  return onnx.ModelProto.encode(model).finish();
}
