/**
 * GraphBuilder: the small core every architecture uses to emit ONNX graphs.
 *
 * Names are hierarchical and deterministic (`/model/layers.3/attn/q_proj/MatMul`), so graphs read well
 * in Netron and tests can assert on them. Constants are de-duplicated under `/model/constants/…`.
 * Weights are *declared* while the graph is built (checkpoint name, expected shape, layout transform)
 * and only read afterwards by `materializeWeights`, so one validation pass can list every missing or
 * misshaped tensor before any bytes are read.
 */
import {
  TensorDataType,
  type AttributeValue,
  type Dim,
  type GraphDef,
  type NodeDef,
  type TensorValue,
  type ValueInfo,
} from './encode.ts';

/** How a checkpoint tensor is laid out in the graph. */
export type WeightTransform =
  | 'none'
  /** HF Linear stores [out, in]; MatMul wants [in, out]. */
  | 'transpose';

export interface WeightRef {
  /** Name the graph's nodes read, as float32 (the checkpoint's own tensor name, maybe with a suffix). */
  readonly initializer: string;
  /** Logical checkpoint name; resolved against the actual key layout when materialised. */
  readonly source: string;
  /** Shape the checkpoint tensor must have (before the transform). */
  readonly shape: readonly number[];
  readonly transform: WeightTransform;
  /** Only rows [start, end) of the (untransformed) tensor: a view sharing the whole tensor's bytes. */
  readonly rows?: readonly [number, number];
  /**
   * The consumer takes the tensor in whatever precision it is stored in and widens its own (small)
   * result, as an embedding lookup does: no widening of the whole table is inserted.
   */
  readonly storedAsIs?: boolean;
  /** Index of the first node that reads it: where a widening Cast goes when it is stored in 16 bits. */
  readonly firstUse: number;
}

export interface WeightOptions {
  readonly transform?: WeightTransform;
  readonly rows?: readonly [number, number];
  readonly storedAsIs?: boolean;
}

export interface BuiltGraph {
  readonly graph: Omit<GraphDef, 'initializers'>;
  readonly constants: readonly TensorValue[];
  readonly weights: readonly WeightRef[];
}

export class GraphBuilder {
  private readonly nodes: NodeDef[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly constants = new Map<string, TensorValue>();
  private readonly weights = new Map<string, WeightRef>();
  private readonly scopeStack: string[] = ['model'];
  private readonly usedNames = new Map<string, number>();

  constructor(readonly name: string) {}

  /** Runs `body` with `name` appended to the naming scope. */
  scope<T>(name: string, body: () => T): T {
    this.scopeStack.push(name);
    try {
      return body();
    } finally {
      this.scopeStack.pop();
    }
  }

  input(name: string, dataType: TensorDataType, shape: readonly Dim[]): string {
    this.inputs.push({ name, dataType, shape });
    return name;
  }

  /** Exposes `tensor` as graph output `name` (through Identity when the names differ). */
  output(tensor: string, name: string, dataType: TensorDataType, shape: readonly Dim[]): void {
    if (tensor !== name) {
      this.nodes.push({ name: `/outputs/${name}`, opType: 'Identity', inputs: [tensor], outputs: [name] });
    }
    this.outputs.push({ name, dataType, shape });
  }

  /** Emits one node with a single output and returns the output's name. */
  op(
    opType: string,
    inputs: readonly string[],
    attributes?: Record<string, AttributeValue>,
    label?: string,
  ): string {
    return this.opMulti(opType, inputs, 1, attributes, label)[0];
  }

  opMulti(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes?: Record<string, AttributeValue>,
    label?: string,
  ): string[] {
    const base = `/${this.scopeStack.join('/')}/${label ?? opType}`;
    const seen = this.usedNames.get(base) ?? 0;
    this.usedNames.set(base, seen + 1);
    const name = seen === 0 ? base : `${base}_${seen}`;
    const outputs = Array.from({ length: outputCount }, (_, i) => `${name}/output_${i}`);
    this.nodes.push({ name, opType, inputs, outputs, attributes });
    return outputs;
  }

  /**
   * Declares a checkpoint weight and returns the float32 tensor the graph computes with; its bytes are
   * read later (materialize.ts), in the precision chosen then.
   */
  weight(source: string, shape: readonly number[], options: WeightTransform | WeightOptions = {}): string {
    const {
      transform = 'none',
      rows,
      storedAsIs,
    } = typeof options === 'string' ? { transform: options } : options;
    let initializer = transform === 'transpose' ? `${source}.T` : source;
    if (rows) initializer = `${initializer}[${rows[0]}:${rows[1]}]`;
    const existing = this.weights.get(initializer);
    if (existing) {
      // One name, one tensor: read as stored by one node and widened for another would need two.
      if (Boolean(existing.storedAsIs) !== Boolean(storedAsIs)) {
        throw new Error(`${this.name}: weight ${initializer} is declared both as stored and as widened`);
      }
      return existing.initializer;
    }
    const ref = { initializer, source, shape, transform, rows, storedAsIs, firstUse: this.nodes.length };
    this.weights.set(initializer, ref);
    return initializer;
  }

  constFloat(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constant(
      TensorDataType.FLOAT,
      dims,
      new Uint8Array(Float32Array.from(values).buffer),
      values,
    );
  }

  constInt64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const raw = new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
    return this.constant(TensorDataType.INT64, dims, raw, values);
  }

  scalarFloat(value: number): string {
    return this.constFloat([value], []);
  }

  private constant(
    dataType: TensorDataType,
    dims: readonly number[],
    raw: Uint8Array,
    values: readonly number[],
  ) {
    const kind = dataType === TensorDataType.FLOAT ? 'f32' : 'i64';
    const shown = values.length <= 4 ? values.join('_') : `${values.length}v_${hash(raw)}`;
    const name = `/model/constants/${kind}_${dims.join('x') || 'scalar'}_${shown}`;
    if (!this.constants.has(name)) this.constants.set(name, { name, dataType, dims, raw });
    return name;
  }

  build(): BuiltGraph {
    return {
      graph: { name: this.name, nodes: this.nodes, inputs: this.inputs, outputs: this.outputs },
      constants: [...this.constants.values()],
      weights: [...this.weights.values()],
    };
  }
}

function hash(bytes: Uint8Array): string {
  // FNV-1a: only to keep constant names short and unique, not for security.
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16);
}
