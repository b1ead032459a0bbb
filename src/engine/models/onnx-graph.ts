import { readFileSync } from 'node:fs';
import { onnx } from 'onnx-proto';

/**
 * The model at `path` with only the graph outputs that `keep` accepts. onnxruntime computes and holds every graph
 * output for the whole run whether it is fetched or not; Whisper exports add attention maps as outputs, which for
 * the encoder are most of its memory and a third of its time.
 */
export function withOutputs(path: string, keep: (name: string) => boolean): Uint8Array {
  const model = onnx.ModelProto.decode(readFileSync(path));
  const graph = model.graph!;
  graph.output = (graph.output ?? []).filter((o) => keep(o.name ?? ''));
  return onnx.ModelProto.encode(model).finish();
}

const MICROSOFT_DOMAIN = 'com.microsoft';

/**
 * `bytes` with every MatMul whose weight is an int8 constant behind a DequantizeLinear replaced by one
 * DynamicQuantizeMatMul, in the main graph and in every If branch. onnxruntime never constant-folds DequantizeLinear
 * (it keeps QDQ patterns for its own fusions), so such a weight is dequantized again on every run: in the Whisper
 * decoders it is the output projection onto the vocabulary (the tied token embedding), and whisper-small's decoder
 * step spent 22 of its 45 ms dequantizing it (2 cores). Fused, the step takes 19 ms (tiny 18 → 8 ms), and the
 * weight stays int8 in memory. The activation is quantized per run as in every other layer of these exports; the
 * DEV word error rates are unchanged (see the README's Models section).
 */
export function withInt8WeightMatMuls(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graphs = [model.graph!, ...(model.graph!.node ?? []).flatMap((n) => (n.attribute ?? []).flatMap((a) => (a.g ? [a.g] : [])))];
  let fused = 0;
  for (const graph of graphs) fused += fuseDequantizedMatMuls(graph);
  if (fused && !(model.opsetImport ?? []).some((o) => o.domain === MICROSOFT_DOMAIN)) {
    model.opsetImport = [...(model.opsetImport ?? []), onnx.OperatorSetIdProto.create({ domain: MICROSOFT_DOMAIN, version: 1 })];
  }
  return onnx.ModelProto.encode(model).finish();
}

function fuseDequantizedMatMuls(graph: onnx.IGraphProto): number {
  const nodes = graph.node ?? [];
  const readers = new Map<string, onnx.INodeProto[]>();
  for (const node of nodes) for (const input of node.input ?? []) readers.set(input, [...(readers.get(input) ?? []), node]);
  const replaced = new Map<onnx.INodeProto, onnx.INodeProto | null>();
  for (const dequantize of nodes) {
    if (dequantize.opType !== 'DequantizeLinear' || (dequantize.input ?? []).length !== 3) continue;
    const [weight] = dequantize.output ?? [];
    const users = readers.get(weight) ?? [];
    const matMul = users[0];
    if (users.length !== 1 || matMul.opType !== 'MatMul' || matMul.input?.[1] !== weight) continue;
    const [quantized, scale, zeroPoint] = dequantize.input!;
    replaced.set(dequantize, null);
    replaced.set(
      matMul,
      onnx.NodeProto.create({
        name: `${matMul.name ?? weight}_int8`,
        opType: 'DynamicQuantizeMatMul',
        domain: MICROSOFT_DOMAIN,
        input: [matMul.input[0], quantized, scale, zeroPoint],
        output: matMul.output,
      }),
    );
  }
  graph.node = nodes.flatMap((n) => {
    const swap = replaced.get(n);
    return swap === undefined ? [n] : swap === null ? [] : [swap];
  });
  return replaced.size / 2;
}
