/**
 * Writes built graphs as ONNX files whose weights live in one shared data file beside them (ONNX
 * external data), streaming tensor by tensor:
 *
 *   <dir>/<graph>.onnx   graph structure, constants and small tensors (no 2 GB protobuf ceiling)
 *   <dir>/weights.bin    every weight once, 64 KiB aligned, in its storage precision
 *
 * Aligned offsets let ONNX Runtime map the weights from disk instead of copying them (CPU), and a
 * tensor two graphs read (tied embeddings: the embedding lookup and the vocabulary projection) is
 * written once. A weight stored in 16 bits is widened by a Cast inserted before its first reader,
 * so the graph computes in float32; the session must not constant-fold those Casts (session.ts).
 */
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

import { ModelFormatError } from '../errors.ts';
import type { BuiltGraph, WeightRef } from './builder.ts';
import { encodeModel, TensorDataType, type NodeDef, type TensorValue } from './encode.ts';
import { assertWeights, OPSET_VERSION, type WeightSource } from './materialize.ts';
import {
  countNonFinite,
  STORAGE_BYTES,
  STORAGE_ONNX_TYPE,
  storageFor,
  toStorageBits,
  transposedChunks,
  type Precision,
  type StorageDtype,
  type StoredBits,
} from './storage.ts';

export const WEIGHTS_FILE = 'weights.bin';
/**
 * Bumped whenever what this module writes changes for the same graphs and weights (Cast insertion,
 * rounding, layout): model caches key on it, so old entries are never reused after such a change.
 */
export const MODEL_FILES_VERSION = 1;
/** Large tensors start on 64 KiB (Windows' mapping granularity; 4 KiB pages elsewhere) to be mapped. */
const MAP_ALIGNMENT = 64 * 1024;
const MAP_THRESHOLD_BYTES = 1024 * 1024;
/** Smaller ones are copied by ONNX Runtime anyway: packed, aligned only for vector loads. */
const PACK_ALIGNMENT = 64;

export interface GraphFile {
  /** File name stem: `<file>.onnx`. */
  readonly file: string;
  /** What the graph is, for messages and the model's metadata. */
  readonly label: string;
  readonly built: BuiltGraph;
}

export interface ModelFilesOptions {
  readonly precision: Precision;
  /** Tensors below this many bytes stay inside the .onnx file (default 4 KiB). */
  readonly inlineLimitBytes?: number;
  /** Called after each graph is written. */
  readonly onGraph?: (done: number, total: number, label: string) => void;
}

export interface WrittenModel {
  /** Bytes of weights.bin. */
  readonly weightBytes: number;
  /** Stored bytes per storage dtype (what the weights occupy once mapped). */
  readonly storedBytes: Readonly<Partial<Record<StorageDtype, number>>>;
}

/** One tensor written to weights.bin (whole, in its graph layout), shared by every reader. */
interface StoredTensor {
  readonly offset: number;
  readonly dtype: StorageDtype;
  /** Dims after the transform. */
  readonly dims: readonly number[];
  /** Small tensors' bytes, kept to be inlined into each graph that reads them. */
  readonly inline?: Uint8Array;
}

export async function writeModelFiles(
  dir: string,
  graphs: readonly GraphFile[],
  source: WeightSource,
  options: ModelFilesOptions,
): Promise<WrittenModel> {
  for (const { built, label } of graphs) assertWeights(built.weights, source, label);
  const data = await open(join(dir, WEIGHTS_FILE), 'w');
  const writer = new WeightWriter(data, source, options);
  try {
    for (const [index, { file, label, built }] of graphs.entries()) {
      const initializers: TensorValue[] = [...built.constants];
      const casts: Array<{ at: number; node: NodeDef }> = [];
      for (const ref of built.weights) {
        const stored = await writer.store(ref);
        const widen = stored.dtype !== 'F32' && !ref.storedAsIs;
        const name = widen ? `${ref.initializer}/${stored.dtype.toLowerCase()}` : ref.initializer;
        initializers.push(writer.tensorValue(ref, stored, name));
        if (widen) {
          casts.push({
            at: ref.firstUse,
            node: {
              name: `/widen/${ref.initializer}`,
              opType: 'Cast',
              inputs: [name],
              outputs: [ref.initializer],
              attributes: { to: TensorDataType.FLOAT },
            },
          });
        }
      }
      const nodes = withCasts(built.graph.nodes, casts);
      const bytes = encodeModel({
        graph: { ...built.graph, nodes, initializers },
        opsetVersion: OPSET_VERSION,
        producer: 'fusionscope',
        metadata: { 'fusionscope.graph': label },
      });
      await writeFile(join(dir, `${file}.onnx`), bytes);
      options.onGraph?.(index + 1, graphs.length, label);
    }
    writer.assertFinite();
  } finally {
    await data.close();
  }
  return { weightBytes: writer.end, storedBytes: writer.storedBytes };
}

/** Each Cast goes just before the first node that reads its weight (keeping topological order). */
function withCasts(nodes: readonly NodeDef[], casts: readonly { at: number; node: NodeDef }[]): NodeDef[] {
  const byIndex = new Map<number, NodeDef[]>();
  for (const { at, node } of casts) byIndex.set(at, [...(byIndex.get(at) ?? []), node]);
  const out: NodeDef[] = [];
  nodes.forEach((node, i) => out.push(...(byIndex.get(i) ?? []), node));
  // A weight declared after the last node (an output that is the weight itself) still needs its Cast.
  for (const [at, extra] of byIndex) if (at >= nodes.length) out.push(...extra);
  return out;
}

class WeightWriter {
  private readonly stored = new Map<string, StoredTensor>();
  private readonly nonFinite: string[] = [];
  readonly storedBytes: Partial<Record<StorageDtype, number>> = {};
  end = 0;

  constructor(
    private readonly data: FileHandle,
    private readonly source: WeightSource,
    private readonly options: ModelFilesOptions,
  ) {}

  /** The whole tensor `ref` reads from, written on first use. */
  async store(ref: WeightRef): Promise<StoredTensor> {
    const dtype = storageFor(this.options.precision, this.source.dtypeOf(ref.source) ?? 'F32');
    const key = `${ref.source}|${ref.transform}|${dtype}`;
    const known = this.stored.get(key);
    if (known) return known;
    const bits = toStorageBits(
      await this.source.readRaw(ref.source),
      this.source.dtypeOf(ref.source) ?? 'F32',
      dtype,
      ref.source,
    );
    this.checkFinite(ref.source, bits, dtype);
    const [rows, cols] = ref.shape;
    const dims = ref.transform === 'transpose' ? [cols, rows] : [...ref.shape];
    const chunks = ref.transform === 'transpose' ? transposedChunks(bits, rows, cols) : [bits];
    const byteLength = bits.length * STORAGE_BYTES[dtype];
    let tensor: StoredTensor;
    if (byteLength < (this.options.inlineLimitBytes ?? 4096)) {
      const inline = new Uint8Array(byteLength);
      let at = 0;
      for (const chunk of chunks) {
        inline.set(bytesOf(chunk), at);
        at += chunk.byteLength;
      }
      tensor = { offset: -1, dtype, dims, inline };
    } else {
      const alignment = byteLength >= MAP_THRESHOLD_BYTES ? MAP_ALIGNMENT : PACK_ALIGNMENT;
      const offset = Math.ceil(this.end / alignment) * alignment;
      let at = offset;
      for (const chunk of chunks) {
        await writeAll(this.data, bytesOf(chunk), at);
        at += chunk.byteLength;
      }
      this.end = at;
      tensor = { offset, dtype, dims };
    }
    this.storedBytes[dtype] = (this.storedBytes[dtype] ?? 0) + byteLength;
    this.stored.set(key, tensor);
    return tensor;
  }

  /** The initializer for `ref`: the stored tensor, or the rows of it a view asks for. */
  tensorValue(ref: WeightRef, stored: StoredTensor, name: string): TensorValue {
    const rowElements = stored.dims.slice(1).reduce((a, b) => a * b, 1);
    const [first, last] = ref.rows ?? [0, stored.dims[0]];
    const elementBytes = STORAGE_BYTES[stored.dtype];
    const begin = first * rowElements * elementBytes;
    const length = (last - first) * rowElements * elementBytes;
    const dims = [last - first, ...stored.dims.slice(1)];
    const dataType = STORAGE_ONNX_TYPE[stored.dtype];
    if (stored.inline) return { name, dataType, dims, raw: stored.inline.subarray(begin, begin + length) };
    return {
      name,
      dataType,
      dims,
      raw: new Uint8Array(0),
      external: { location: WEIGHTS_FILE, offset: stored.offset + begin, length },
    };
  }

  private checkFinite(name: string, bits: StoredBits, dtype: StorageDtype): void {
    const count = countNonFinite(bits, dtype);
    if (count === 0) return;
    const sourceDtype = this.source.dtypeOf(name);
    const why =
      sourceDtype === dtype
        ? ''
        : ` once stored as ${dtype} (NaN/Inf in the checkpoint, or values beyond ${dtype}'s range: try another --precision)`;
    this.nonFinite.push(`tensor "${name}" has ${count} NaN/Inf value(s)${why}`);
  }

  assertFinite(): void {
    if (this.nonFinite.length === 0) return;
    throw new ModelFormatError(
      'BAD_WEIGHTS',
      `${this.nonFinite.length} weight(s) are not finite:\n  ${this.nonFinite.join('\n  ')}`,
    );
  }
}

function bytesOf(bits: StoredBits): Uint8Array {
  return new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
}

async function writeAll(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    // One write call moves at most ~2 GB; loop until the whole chunk is on disk.
    const { bytesWritten } = await file.write(
      bytes,
      done,
      Math.min(bytes.length - done, 1 << 30),
      position + done,
    );
    done += bytesWritten;
  }
}
