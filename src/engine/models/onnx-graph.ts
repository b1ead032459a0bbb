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
