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
