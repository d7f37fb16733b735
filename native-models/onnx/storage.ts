/**
 * How weights are stored in a built model: the precision policy, the dtype conversions and the
 * transposed layouts, on raw element bits so that 16-bit weights are never widened in JavaScript.
 *
 * The graphs always compute in float32 (as transformers runs RMSNorm, RoPE and softmax); a weight
 * stored in 16 bits is widened per operation inside the graph (see modelFiles.ts).
 */
import { ModelFormatError } from '../errors.ts';
import { bf16ToFloat32, f16ToFloat32, float32BitsToBf16, float32BitsToHalf } from '../safetensors/dtypes.ts';
import type { WeightRef } from './builder.ts';
import { TensorDataType } from './encode.ts';

export const PRECISIONS = ['auto', 'fp32', 'fp16', 'bf16'] as const;
/** auto keeps each tensor's own precision (16-bit stays 16-bit); the others convert every weight. */
export type Precision = (typeof PRECISIONS)[number];

export type StorageDtype = 'F32' | 'F16' | 'BF16';

export const STORAGE_BYTES: Record<StorageDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export const STORAGE_ONNX_TYPE: Record<StorageDtype, TensorDataType> = {
  F32: TensorDataType.FLOAT,
  F16: TensorDataType.FLOAT16,
  BF16: TensorDataType.BFLOAT16,
};

export function isPrecision(value: string): value is Precision {
  return (PRECISIONS as readonly string[]).includes(value);
}

/** The dtype a checkpoint tensor of `dtype` is stored in under `precision`. */
export function storageFor(precision: Precision, dtype: string): StorageDtype {
  switch (precision) {
    case 'fp32':
      return 'F32';
    case 'fp16':
      return 'F16';
    case 'bf16':
      return 'BF16';
    default:
      return dtype === 'F16' || dtype === 'BF16' ? dtype : 'F32';
  }
}

/**
 * Bytes the weights `refs` read take when stored under `precision`: each checkpoint tensor once, whole,
 * however many graphs, transforms or row views read it (what the model cache writes and maps).
 */
export function storedWeightBytes(
  refs: Iterable<Pick<WeightRef, 'source' | 'shape'>>,
  dtypeOf: (name: string) => string | undefined,
  precision: Precision,
): number {
  const sizes = new Map<string, number>();
  for (const { source, shape } of refs) {
    const storage = storageFor(precision, dtypeOf(source) ?? 'F32');
    sizes.set(source, shape.reduce((a, b) => a * b, 1) * STORAGE_BYTES[storage]);
  }
  return [...sizes.values()].reduce((a, b) => a + b, 0);
}

/** Element bits of one tensor in its storage dtype: Uint16Array for 16-bit, Uint32Array for F32. */
export type StoredBits = Uint16Array | Uint32Array;

/** A checkpoint tensor's raw little-endian bytes (`dtype` F32, F16, BF16 or F64) as `storage` bits. */
export function toStorageBits(
  raw: Uint8Array,
  dtype: string,
  storage: StorageDtype,
  name: string,
): StoredBits {
  const view = aligned(raw);
  if (dtype === storage) {
    return storage === 'F32'
      ? new Uint32Array(view.buffer, view.byteOffset, view.byteLength / 4)
      : new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2);
  }
  const floats = asFloat32(view, dtype, name);
  const bits = new Uint32Array(floats.buffer, floats.byteOffset, floats.length);
  if (storage === 'F32') return bits;
  const out = new Uint16Array(bits.length);
  const round = storage === 'F16' ? float32BitsToHalf : float32BitsToBf16;
  for (let i = 0; i < bits.length; i++) out[i] = round(bits[i]);
  return out;
}

function asFloat32(view: Uint8Array, dtype: string, name: string): Float32Array {
  switch (dtype) {
    case 'F32':
      return new Float32Array(view.buffer, view.byteOffset, view.byteLength / 4);
    case 'F16':
      return f16ToFloat32(new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2));
    case 'BF16':
      return bf16ToFloat32(new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2));
    case 'F64':
      return Float32Array.from(new Float64Array(view.buffer, view.byteOffset, view.byteLength / 8));
    default:
      throw new ModelFormatError(
        'BAD_WEIGHTS',
        `tensor "${name}" has dtype ${dtype}; expected a floating-point dtype (F32, F16, BF16)`,
      );
  }
}

/** Typed-array views need an element-aligned start; a Buffer from Node's shared pool may lack one. */
function aligned(raw: Uint8Array): Uint8Array {
  if (raw.byteOffset % 8 === 0) return raw;
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return copy;
}

/** How many elements are NaN or ±Inf, read off the exponent bits of `storage`. */
export function countNonFinite(bits: StoredBits, storage: StorageDtype): number {
  const mask = storage === 'F32' ? 0x7f800000 : storage === 'F16' ? 0x7c00 : 0x7f80;
  let count = 0;
  for (let i = 0; i < bits.length; i++) if ((bits[i] & mask) === mask) count++;
  return count;
}

/** Output elements per transposed chunk: a few MB, so a chunk stays in cache while it is filled. */
const CHUNK_ELEMENTS = 2 * 1024 * 1024;

/**
 * The [rows, cols] tensor `bits` transposed to [cols, rows], yielded as consecutive chunks of whole
 * output rows, so at most one chunk exists besides the source.
 */
export function* transposedChunks(bits: StoredBits, rows: number, cols: number): Generator<StoredBits> {
  const step = Math.max(1, Math.floor(CHUNK_ELEMENTS / Math.max(1, rows)));
  const Out = bits instanceof Uint16Array ? Uint16Array : Uint32Array;
  for (let c0 = 0; c0 < cols; c0 += step) {
    const c1 = Math.min(cols, c0 + step);
    const chunk = new Out((c1 - c0) * rows);
    for (let r = 0; r < rows; r++) {
      const from = r * cols;
      for (let c = c0; c < c1; c++) chunk[(c - c0) * rows + r] = bits[from + c];
    }
    yield chunk;
  }
}
