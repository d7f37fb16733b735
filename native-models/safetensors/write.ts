/**
 * Writes safetensors files byte-compatible with the reference `safetensors` library: an 8-byte
 * little-endian header length, a compact JSON header (`__metadata__` first, then each tensor's
 * `{"dtype","shape","data_offsets"}`) padded with spaces to a multiple of 8 bytes, then the tensors'
 * bytes back to back in the order given. The file appears under its name only once complete (written
 * to a temporary name in the same folder, then renamed).
 *
 * Float data is rounded to the target dtype with round-to-nearest-even. Float64 input reaches F16 and
 * BF16 through float32, as PyTorch's `double → half` conversion does.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { ModelFormatError } from '../errors.ts';
import { floatToBf16, floatToHalf } from './dtypes.ts';

export type WritableDType = 'F32' | 'F16' | 'BF16' | 'I64';

export interface TensorToWrite {
  name: string;
  dtype: WritableDType;
  shape: number[];
  data: Float32Array | Float64Array | BigInt64Array;
}

const BYTES: Record<WritableDType, number> = { F32: 4, F16: 2, BF16: 2, I64: 8 };

function invalid(file: string, detail: string): ModelFormatError {
  return new ModelFormatError('BAD_WEIGHTS', `cannot write ${basename(file)}: ${detail}`);
}

/** The tensor's bytes in `dtype`, little-endian. */
export function encodeTensor(tensor: TensorToWrite): Uint8Array {
  const { dtype, data } = tensor;
  if (dtype === 'I64') {
    if (!(data instanceof BigInt64Array))
      throw new TypeError(`"${tensor.name}": I64 data must be a BigInt64Array`);
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  }
  if (data instanceof BigInt64Array) throw new TypeError(`"${tensor.name}": ${dtype} data must be float`);
  if (dtype === 'F32') return new Uint8Array(Float32Array.from(data).buffer);
  const round = dtype === 'F16' ? floatToHalf : floatToBf16;
  const halves = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) halves[i] = round(data[i]);
  return new Uint8Array(halves.buffer);
}

/** The header bytes (without the 8-byte length prefix), space-padded to a multiple of 8. */
export function encodeHeader(
  tensors: ReadonlyArray<Pick<TensorToWrite, 'name' | 'dtype' | 'shape'>>,
  metadata?: Record<string, string>,
): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  let offset = 0;
  for (const { name, dtype, shape } of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padding = (8 - (json.length % 8)) % 8;
  return Buffer.concat([json, Buffer.alloc(padding, 0x20)]);
}

/** A tensor's name, dtype and shape: what the header says about it. */
export type TensorSpec = Pick<TensorToWrite, 'name' | 'dtype' | 'shape'>;

function validateSpecs(
  file: string,
  tensors: readonly TensorSpec[],
  metadata?: Record<string, string>,
): void {
  const seen = new Set<string>();
  for (const { name, dtype, shape } of tensors) {
    if (name === '__metadata__' || name.length === 0) throw invalid(file, `invalid tensor name "${name}"`);
    if (seen.has(name)) throw invalid(file, `tensor "${name}" appears twice`);
    seen.add(name);
    if (!(dtype in BYTES)) throw invalid(file, `tensor "${name}" has unsupported dtype ${dtype}`);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw invalid(file, `tensor "${name}" has invalid shape [${shape.join(', ')}]`);
    }
  }
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (typeof value !== 'string') throw invalid(file, `metadata "${key}" is not a string`);
  }
}

export async function writeSafetensors(
  file: string,
  tensors: TensorToWrite[],
  metadata?: Record<string, string>,
): Promise<void> {
  for (const { name, shape, data } of tensors) {
    const elements = shape.reduce((a, b) => a * b, 1);
    if (elements !== data.length) {
      throw invalid(file, `tensor "${name}" has shape [${shape.join(', ')}] but ${data.length} values`);
    }
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  await writeSafetensorsStreamed(file, tensors, (spec) => encodeTensor(byName.get(spec.name)!), metadata);
}

/**
 * writeSafetensors with each tensor's bytes made only when it is written (`bytesOf` must return
 * exactly the shape's size in the dtype), for checkpoints too large to hold in memory.
 */
export async function writeSafetensorsStreamed(
  file: string,
  tensors: readonly TensorSpec[],
  bytesOf: (tensor: TensorSpec) => Uint8Array,
  metadata?: Record<string, string>,
): Promise<void> {
  validateSpecs(file, tensors, metadata);
  const header = encodeHeader(tensors, metadata);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));

  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.partial`);
  const handle = await open(temp, 'w');
  let done = false;
  try {
    await handle.write(length);
    await handle.write(header);
    for (const tensor of tensors) {
      const bytes = bytesOf(tensor);
      const expected = tensor.shape.reduce((a, b) => a * b, 1) * BYTES[tensor.dtype];
      if (bytes.length !== expected) {
        throw invalid(file, `tensor "${tensor.name}" was given ${bytes.length} bytes, expected ${expected}`);
      }
      await handle.write(bytes);
    }
    await handle.sync();
    await handle.close();
    await rename(temp, file);
    done = true;
  } finally {
    if (!done) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
    }
  }
}
