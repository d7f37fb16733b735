/**
 * Serialises an ONNX model to protobuf bytes. Only the messages and fields FusionScope emits are
 * covered (onnx.proto field numbers cited inline), which keeps us free of a protobuf dependency.
 * Repeated scalars are written unpacked, as proto2 (onnx.proto's syntax) does by default.
 */

/** onnx.proto TensorProto.DataType values. */
export const TensorDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  BFLOAT16: 16,
} as const;
export type TensorDataType = (typeof TensorDataType)[keyof typeof TensorDataType];

export interface TensorValue {
  readonly name: string;
  readonly dataType: TensorDataType;
  readonly dims: readonly number[];
  /** Little-endian raw bytes, as TensorProto.raw_data (empty when the bytes live in `external`). */
  readonly raw: Uint8Array;
  /** Where the bytes are when they are not in the model file (ONNX external data). */
  readonly external?: ExternalData;
}

/**
 * A tensor's bytes in a file beside the model: `location` is relative to the model file's folder.
 * Offsets aligned to 64 KiB let ONNX Runtime map the bytes instead of copying them (CPU).
 */
export interface ExternalData {
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

export type AttributeValue = number | string | readonly number[] | TensorValue | { readonly float: number };

export interface NodeDef {
  readonly name: string;
  readonly opType: string;
  readonly domain?: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

/** A dimension is a fixed size or a symbolic name such as "sequence". */
export type Dim = number | string;

export interface ValueInfo {
  readonly name: string;
  readonly dataType: TensorDataType;
  readonly shape: readonly Dim[];
}

export interface GraphDef {
  readonly name: string;
  readonly nodes: readonly NodeDef[];
  readonly initializers: readonly TensorValue[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
}

export interface ModelDef {
  readonly graph: GraphDef;
  readonly opsetVersion: number;
  readonly producer: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

const WIRE_VARINT = 0;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

/** Append-only protobuf writer; nested messages are encoded separately and embedded as bytes. */
class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private scratch: number[] = [];

  private flushScratch(): void {
    if (this.scratch.length) {
      this.chunks.push(Uint8Array.from(this.scratch));
      this.scratch = [];
    }
  }

  private varint(value: bigint): void {
    // int64 fields: negative values are written as their 64-bit two's complement (10 bytes).
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.varint(BigInt(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.scratch.push(...bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH);
    this.varint(BigInt(value.length));
    this.flushScratch();
    this.chunks.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, inner: ProtoWriter): this {
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    this.flushScratch();
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

function encodeTensor(tensor: TensorValue): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of tensor.dims) w.int(1, d); // dims
  w.int(2, tensor.dataType); // data_type
  w.string(8, tensor.name); // name
  if (tensor.external) {
    const { location, offset, length } = tensor.external;
    const entry = (key: string, value: string) => new ProtoWriter().string(1, key).string(2, value);
    w.message(13, entry('location', location)); // external_data
    w.message(13, entry('offset', String(offset)));
    w.message(13, entry('length', String(length)));
    w.int(14, 1); // data_location = EXTERNAL
  } else {
    w.bytes(9, tensor.raw); // raw_data
  }
  return w;
}

const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_TENSOR = 4;
const ATTR_INTS = 7;

function encodeAttribute(name: string, value: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use {float: x} for float values`);
    w.int(3, value).int(20, ATTR_INT);
  } else if (typeof value === 'string') {
    w.string(4, value).int(20, ATTR_STRING);
  } else if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    w.int(20, ATTR_INTS);
  } else if ('float' in value) {
    w.float(2, value.float).int(20, ATTR_FLOAT);
  } else {
    w.message(5, encodeTensor(value as TensorValue)).int(20, ATTR_TENSOR);
  }
  return w;
}

function encodeNode(node: NodeDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name).string(4, node.opType);
  for (const [name, value] of Object.entries(node.attributes ?? {}))
    w.message(5, encodeAttribute(name, value));
  if (node.domain) w.string(7, node.domain);
  return w;
}

function encodeValueInfo(info: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of info.shape) {
    const d = new ProtoWriter();
    if (typeof dim === 'number') d.int(1, dim);
    else d.string(2, dim);
    shape.message(1, d);
  }
  const tensorType = new ProtoWriter().int(1, info.dataType).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, info.name).message(2, type);
}

function encodeGraph(graph: GraphDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const node of graph.nodes) w.message(1, encodeNode(node));
  w.string(2, graph.name);
  for (const init of graph.initializers) w.message(5, encodeTensor(init));
  for (const input of graph.inputs) w.message(11, encodeValueInfo(input));
  for (const output of graph.outputs) w.message(12, encodeValueInfo(output));
  return w;
}

/** IR version 8 pairs with opset 17 and is read by every onnxruntime release we support. */
const IR_VERSION = 8;

export function encodeModel(model: ModelDef): Uint8Array {
  const w = new ProtoWriter().int(1, IR_VERSION);
  w.string(2, model.producer);
  w.message(7, encodeGraph(model.graph));
  w.message(8, new ProtoWriter().string(1, '').int(2, model.opsetVersion));
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    w.message(14, new ProtoWriter().string(1, key).string(2, value));
  }
  return w.finish();
}
