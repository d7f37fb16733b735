/**
 * Lazy, validated reading of safetensors checkpoints (single file or sharded with an index).
 *
 * Only the JSON headers are read when a checkpoint is opened; tensor bytes are read on demand with
 * positioned reads, one tensor at a time, so multi-GB files are never loaded whole. Every structural
 * problem (header past EOF, offsets out of range or overlapping, dtype/shape disagreeing with the byte
 * length, unknown dtype, shard index pointing at a tensor its shard lacks) is reported with the file
 * and tensor name (escaped: a header's names are the file's text, not ours).
 *
 * Each file is opened once, through files/regularFile.ts (a FIFO or a folder where a shard belongs is
 * refused, never waited on), and its tensors are read through that same handle.
 */
import type { FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';

import { ModelFormatError } from '../errors.ts';
import { parseJsonText } from '../files/jsonText.ts';
import { printable, quoted, shownPath } from '../files/messageText.ts';
import { openRegularFile, readRegularTextFile, somethingAt } from '../files/regularFile.ts';
import { bf16ToFloat32, f16ToFloat32 } from './dtypes.ts';

export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
} as const;

export type SafetensorsDType = keyof typeof DTYPE_BYTES;

export interface TensorEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly file: string;
  /** Absolute byte offset of the tensor's data inside `file`. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

const READ_CHUNK_BYTES = 1 << 30;

/** A header larger than this is treated as corrupt (real checkpoints stay far below). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function bad(file: string, detail: string): ModelFormatError {
  return new ModelFormatError('BAD_WEIGHTS', `${printable(basename(file))}: ${detail}`);
}

function isDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, value);
}

/** Reads and validates one safetensors file's header. */
export async function readSafetensorsHeader(file: string): Promise<Map<string, TensorEntry>> {
  const { handle, stats } = await openRegularFile(file);
  try {
    return await readHeader(handle, stats.size, file);
  } finally {
    await handle.close();
  }
}

/** The header of the safetensors file open as `handle` (`size` bytes long; `file` names it in errors). */
async function readHeader(handle: FileHandle, size: number, file: string): Promise<Map<string, TensorEntry>> {
  if (size < 8) throw bad(file, `file is ${size} bytes, too short for a safetensors header length`);
  const lengthBytes = Buffer.alloc(8);
  await handle.read(lengthBytes, 0, 8, 0);
  const headerLength = lengthBytes.readBigUInt64LE(0);
  if (headerLength > BigInt(size - 8)) {
    throw bad(file, `header length ${headerLength} runs past the end of the file (${size} bytes)`);
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw bad(file, `header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerBytes = Buffer.alloc(Number(headerLength));
  await handle.read(headerBytes, 0, headerBytes.length, 8);
  // Only the error's position is shown: a file that is no safetensors at all may be anything.
  const header = parseJsonText(headerBytes.toString('utf8'), (where) =>
    bad(file, `header is not valid JSON (${where})`),
  );
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw bad(file, 'header is not a JSON object');
  }
  const dataStart = 8 + Number(headerLength);
  return parseEntries(file, header as Record<string, unknown>, dataStart, size - dataStart);
}

function parseEntries(
  file: string,
  header: Record<string, unknown>,
  dataStart: number,
  dataSize: number,
): Map<string, TensorEntry> {
  const entries = new Map<string, TensorEntry>();
  const ranges: Array<{ name: string; begin: number; end: number }> = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null)
      throw bad(file, `tensor ${quoted(name)} has no description`);
    if (!isDType(info.dtype)) {
      throw bad(
        file,
        `tensor ${quoted(name)} has unknown dtype ${quoted(info.dtype)} (expected one of ${Object.keys(DTYPE_BYTES).join(', ')})`,
      );
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(file, `tensor ${quoted(name)} has invalid shape ${quoted(shape)}`);
    }
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      throw bad(file, `tensor ${quoted(name)} has invalid data_offsets ${quoted(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataSize) {
      throw bad(
        file,
        `tensor ${quoted(name)} data_offsets [${begin}, ${end}] run past the data section (${dataSize} bytes)`,
      );
    }
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = elements * DTYPE_BYTES[info.dtype];
    if (end - begin !== expected) {
      throw bad(
        file,
        `tensor ${quoted(name)} is ${info.dtype}[${shape.join(', ')}] = ${expected} bytes but its data_offsets span ${end - begin} bytes`,
      );
    }
    entries.set(name, {
      name,
      dtype: info.dtype,
      shape: shape as number[],
      file,
      byteOffset: dataStart + begin,
      byteLength: end - begin,
    });
    ranges.push({ name, begin, end });
  }
  // Empty tensors occupy no bytes, so they cannot overlap anything.
  const occupied = ranges.filter((r) => r.end > r.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < occupied.length; i++) {
    if (occupied[i].begin < occupied[i - 1].end) {
      throw bad(
        file,
        `tensors ${quoted(occupied[i - 1].name)} and ${quoted(occupied[i].name)} have overlapping data_offsets`,
      );
    }
  }
  return entries;
}

/**
 * All tensors of a checkpoint folder: `model.safetensors`, or the shards listed by
 * `model.safetensors.index.json`.
 */
export class WeightStore {
  private constructor(
    readonly folder: string,
    private readonly entries: ReadonlyMap<string, TensorEntry>,
    /** Each weights file's handle: opened and checked once, read from until close(). */
    private readonly handles: Map<string, FileHandle>,
  ) {}

  static async open(folder: string): Promise<WeightStore> {
    const indexPath = join(folder, 'model.safetensors.index.json');
    const singlePath = join(folder, 'model.safetensors');
    const handles = new Map<string, FileHandle>();
    try {
      // Whatever is at either name is read or reported: a folder or a loop there is not "missing".
      if (await somethingAt(indexPath)) {
        return new WeightStore(folder, await readIndexed(folder, indexPath, handles), handles);
      }
      if (await somethingAt(singlePath)) {
        return new WeightStore(folder, await openWeightsFile(singlePath, handles), handles);
      }
    } catch (error) {
      await Promise.all([...handles.values()].map((h) => h.close()));
      throw error;
    }
    throw new ModelFormatError(
      'MISSING_FILE',
      `${shownPath(folder)} has neither model.safetensors nor model.safetensors.index.json`,
    );
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  entry(name: string): TensorEntry {
    const found = this.entries.get(name);
    if (!found)
      throw new ModelFormatError(
        'BAD_WEIGHTS',
        `tensor ${quoted(name)} is missing from ${shownPath(this.folder)}`,
      );
    return found;
  }

  /** The tensor's bytes exactly as stored. */
  async readRaw(name: string): Promise<Buffer> {
    const entry = this.entry(name);
    const handle = this.handles.get(entry.file);
    if (!handle) throw bad(entry.file, `cannot read tensor ${quoted(name)}: the weights were closed`);
    // Unpooled, so typed-array views of it start aligned; every byte is read before it is returned.
    const bytes = Buffer.allocUnsafeSlow(entry.byteLength);
    // One read call moves at most 2 GiB: an F32 embedding table of a 7B model is larger.
    for (let done = 0; done < entry.byteLength;) {
      const length = Math.min(entry.byteLength - done, READ_CHUNK_BYTES);
      const { bytesRead } = await handle.read(bytes, done, length, entry.byteOffset + done);
      if (bytesRead === 0) throw bad(entry.file, `short read of tensor ${quoted(name)}`);
      done += bytesRead;
    }
    return bytes;
  }

  /** The tensor converted to float32 (F32, F16 and BF16 supported). */
  async readFloat32(name: string): Promise<Float32Array> {
    const entry = this.entry(name);
    const raw = await this.readRaw(name);
    return toFloat32(raw, entry);
  }

  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map((h) => h.close()));
  }
}

/** Opens a weights file, keeps its handle in `handles` and returns its tensors. */
async function openWeightsFile(
  file: string,
  handles: Map<string, FileHandle>,
): Promise<Map<string, TensorEntry>> {
  const { handle, stats } = await openRegularFile(file);
  handles.set(file, handle);
  return readHeader(handle, stats.size, file);
}

/** The tensors of the shards `model.safetensors.index.json` lists, each shard opened once. */
async function readIndexed(
  folder: string,
  indexPath: string,
  handles: Map<string, FileHandle>,
): Promise<Map<string, TensorEntry>> {
  const index = parseJsonText(await readRegularTextFile(indexPath), (where) =>
    bad(indexPath, `is not valid JSON (${where})`),
  );
  const weightMap =
    typeof index === 'object' && index !== null ? (index as { weight_map?: unknown }).weight_map : undefined;
  if (typeof weightMap !== 'object' || weightMap === null) throw bad(indexPath, 'has no "weight_map" object');
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    if (typeof shard !== 'string' || /[/\\]/.test(shard) || shard === '.' || shard === '..' || shard === '') {
      throw bad(indexPath, `weight_map[${quoted(name)}] = ${quoted(shard)} is not a shard file name`);
    }
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  const all = new Map<string, TensorEntry>();
  for (const [shard, names] of byShard) {
    const entries = await openWeightsFile(join(folder, shard), handles);
    for (const name of names) {
      const entry = entries.get(name);
      if (!entry) {
        throw bad(
          indexPath,
          `lists ${quoted(name)} in ${printable(shard)}, but that shard does not contain it`,
        );
      }
      all.set(name, entry);
    }
  }
  return all;
}

export function toFloat32(raw: Buffer, entry: TensorEntry): Float32Array {
  const count = entry.byteLength / DTYPE_BYTES[entry.dtype];
  // Typed-array views need an aligned start. readRaw's buffers are their own allocation (offset 0), so
  // the copy below only happens for Buffers carved out of Node's shared pool.
  const aligned =
    raw.byteOffset % 8 === 0
      ? raw
      : (() => {
          const copy = new Uint8Array(raw.byteLength);
          copy.set(raw);
          return copy;
        })();
  const { buffer, byteOffset } = aligned;
  switch (entry.dtype) {
    case 'F32':
      return new Float32Array(buffer, byteOffset, count);
    case 'F16':
      return f16ToFloat32(new Uint16Array(buffer, byteOffset, count));
    case 'BF16':
      return bf16ToFloat32(new Uint16Array(buffer, byteOffset, count));
    case 'F64':
      return Float32Array.from(new Float64Array(buffer, byteOffset, count));
    default:
      throw new ModelFormatError(
        'BAD_WEIGHTS',
        `tensor ${quoted(entry.name)} has dtype ${entry.dtype}; expected a floating-point dtype (F32, F16, BF16)`,
      );
  }
}
