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

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const UINT8 = onnx.TensorProto.DataType.UINT8;
const INT8 = onnx.TensorProto.DataType.INT8;
const INT32 = onnx.TensorProto.DataType.INT32;
const SMALLEST_NORMAL_FLOAT = 1.1754943508222875e-38;

/**
 * `bytes` with every dynamic activation quantization (DynamicQuantizeLinear before MatMulInteger) taken per row of
 * the batch (axis 0) instead of over the whole tensor: its scale and zero point come from that row's own minimum and maximum. With one scale per tensor, a
 * row's logits depended on the other rows of the run, so a window decoded differently beside other windows than
 * alone (whisper-tiny: the text of 7 of 17 DEV clips changed when they were decoded together). Per row, each row
 * computes exactly what it would alone: the same scale and zero point formulas as onnxruntime's
 * DynamicQuantizeLinear, and MatMulInteger without an activation zero point (onnxruntime takes only a scalar one)
 * minus zero point × the weight's column sums, which is the same integer sum.
 */
export function withPerRowActivationQuantization(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const main = model.graph!;
  const graphs = [main, ...(main.node ?? []).flatMap((n) => (n.attribute ?? []).flatMap((a) => (a.g ? [a.g] : [])))];
  const rewrite = new PerRowQuantization(main, graphs);
  for (const graph of graphs) rewrite.graph(graph);
  return onnx.ModelProto.encode(model).finish();
}

/** The rewrite of withPerRowActivationQuantization; new values and constants get unique names. */
class PerRowQuantization {
  private readonly initializers = new Map<string, onnx.ITensorProto>();
  private readonly producers = new Map<string, onnx.INodeProto>();
  /** Outputs of per-row quantizations: the activation's row zero points (int32), by their original name. */
  private readonly rowZeroPoints = new Set<string>();
  private readonly columnSums = new Map<string, string>();
  private readonly constants = new Map<string, string>();
  private serial = 0;

  constructor(
    private readonly main: onnx.IGraphProto,
    graphs: onnx.IGraphProto[],
  ) {
    for (const g of graphs) {
      for (const t of g.initializer ?? []) this.initializers.set(t.name!, t);
      for (const n of g.node ?? []) for (const o of n.output ?? []) this.producers.set(o, n);
    }
    // Zero points are known before any reader is rewritten: the main graph's quantizations feed the branches.
    for (const g of graphs) for (const n of g.node ?? []) if (n.opType === 'DynamicQuantizeLinear') this.rowZeroPoints.add(n.output![2]);
  }

  graph(graph: onnx.IGraphProto): void {
    const out: onnx.INodeProto[] = [];
    for (const node of graph.node ?? []) {
      if (node.opType === 'DynamicQuantizeLinear') {
        const [q, scale, zeroPoint] = node.output!;
        out.push(...this.quantizeRows(node.input![0], q, scale, zeroPoint));
      } else if (node.opType === 'MatMulInteger' && this.rowZeroPoints.has(node.input![2])) {
        const [a, b, zeroPoint, bZeroPoint] = node.input!;
        out.push(...this.matMulRows(a, b, zeroPoint, bZeroPoint, node.output![0]));
      } else {
        out.push(node);
      }
    }
    graph.node = out;
  }

  /**
   * onnxruntime's DynamicQuantizeLinear over each row of `x` ([rows, positions, features], as every quantized input
   * of the Whisper decoders is): uint8 `q`, float `scale` and int32 `zeroPoint` of shape [rows, 1, 1]. A row of zeros
   * gets the smallest scale instead of 1: it quantizes to zeros either way.
   */
  private quantizeRows(x: string, q: string, scale: string, zeroPoint: string): onnx.INodeProto[] {
    const [max, min, high, low, range, rawScale, lowSteps, negLowSteps, clippedZp, zeroPointF, steps, rounded, shifted, qF] = [
      'max', 'min', 'high', 'low', 'range', 'raw_scale', 'low_steps', 'neg_low_steps', 'clipped_zp', 'zp_f', 'steps', 'rounded', 'shifted', 'q_f',
    ].map((s) => this.name(s));
    const zero = this.floatConstant(0);
    const qmax = this.floatConstant(255);
    const axes = { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 2] };
    const keep = { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 };
    const to = (type: number) => ({ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: type });
    return [
      this.node('ReduceMax', [x], [max], [axes, keep]),
      this.node('ReduceMin', [x], [min], [axes, keep]),
      // The range always includes zero.
      this.node('Max', [max, zero], [high]),
      this.node('Min', [min, zero], [low]),
      this.node('Sub', [high, low], [range]),
      this.node('Div', [range, qmax], [rawScale]),
      this.node('Max', [rawScale, this.floatConstant(SMALLEST_NORMAL_FLOAT)], [scale]),
      this.node('Div', [low, scale], [lowSteps]),
      this.node('Neg', [lowSteps], [negLowSteps]),
      this.node('Clip', [negLowSteps, zero, qmax], [clippedZp]),
      this.node('Round', [clippedZp], [zeroPointF]),
      this.node('Div', [x, scale], [steps]),
      this.node('Round', [steps], [rounded]),
      this.node('Add', [rounded, zeroPointF], [shifted]),
      this.node('Clip', [shifted, zero, qmax], [qF]),
      this.node('Cast', [qF], [q], [to(UINT8)]),
      this.node('Cast', [zeroPointF], [zeroPoint], [to(INT32)]),
    ];
  }

  /** MatMulInteger with a per-row activation zero point: Σ q·(b − bzp) − zp · Σ (b − bzp), in int32. */
  private matMulRows(q: string, b: string, zeroPoint: string, bZeroPoint: string | undefined, output: string): onnx.INodeProto[] {
    const [raw, correction] = [this.name('raw'), this.name('correction')];
    return [
      this.node('MatMulInteger', bZeroPoint ? [q, b, '', bZeroPoint] : [q, b], [raw]),
      this.node('Mul', [zeroPoint, this.columnSum(b, bZeroPoint)], [correction]),
      this.node('Sub', [raw, correction], [output]),
    ];
  }

  /** Σ over k of (b[k, j] − bzp), an int32 initializer; b is an 8-bit initializer or its transpose. */
  private columnSum(b: string, bZeroPoint: string | undefined): string {
    const cached = this.columnSums.get(b);
    if (cached) return cached;
    let tensor = this.initializers.get(b);
    let transposed = false;
    if (!tensor) {
      const producer = this.producers.get(b);
      const perm = producer?.attribute?.find((a) => a.name === 'perm')?.ints?.map(Number);
      if (producer?.opType !== 'Transpose' || (perm && (perm[0] !== 1 || perm[1] !== 0))) throw new Error(`per-row quantization: weight ${b} is not a constant`);
      tensor = this.initializers.get(producer.input![0]);
      transposed = true;
    }
    if (!tensor || tensor.dims?.length !== 2 || (tensor.dataType !== INT8 && tensor.dataType !== UINT8)) throw new Error(`per-row quantization: weight ${b} is not an 8-bit matrix`);
    const values = int8Values(tensor);
    const zeroPoint = bZeroPoint ? int8Values(this.initializers.get(bZeroPoint)!)[0] : 0;
    const [rows, cols] = tensor.dims.map(Number);
    // b as MatMulInteger reads it is [k, n]: the tensor itself, or its transpose.
    const n = transposed ? rows : cols;
    const sums = new Int32Array(n);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) sums[transposed ? r : c] += values[r * cols + c] - zeroPoint;
    }
    const name = this.name('column_sum');
    this.main.initializer!.push(onnx.TensorProto.create({ name, dataType: INT32, dims: [n], int32Data: Array.from(sums) }));
    this.columnSums.set(b, name);
    return name;
  }

  private floatConstant(value: number): string {
    return this.constant(`f${value}`, () => onnx.TensorProto.create({ dataType: FLOAT, dims: [], floatData: [value] }));
  }

  /** Constants live in the main graph, where every branch sees them. */
  private constant(key: string, make: () => onnx.TensorProto): string {
    let name = this.constants.get(key);
    if (!name) {
      name = this.name(`const_${key}`);
      const tensor = make();
      tensor.name = name;
      this.main.initializer!.push(tensor);
      this.constants.set(key, name);
    }
    return name;
  }

  private node(opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []): onnx.INodeProto {
    return onnx.NodeProto.create({ name: this.name(opType), opType, input, output, attribute });
  }

  private name(what: string): string {
    return `per_row_quantization/${what}_${this.serial++}`;
  }
}

/** The values of an int8 or uint8 initializer (raw bytes, or int32_data as small exports store them). */
function int8Values(tensor: onnx.ITensorProto): ArrayLike<number> {
  const raw = tensor.rawData;
  if (raw && raw.length) return tensor.dataType === INT8 ? new Int8Array(raw.buffer, raw.byteOffset, raw.length) : new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
  return tensor.int32Data ?? [];
}
