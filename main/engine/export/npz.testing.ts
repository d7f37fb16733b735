/**
 * A reader of what zip.ts and npy.ts write, written from the formats' specifications (APPNOTE 6.3,
 * numpy.lib.format) rather than from the writers: the central directory is found from the end record
 * (through the ZIP64 locator when there is one), each member's local header is checked against it,
 * its CRC-32 recomputed, and an `.npy` header parsed as the dict literal it is.
 */
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';

export interface ZipMember {
  readonly name: string;
  readonly data: Buffer;
  /** Whether the central directory described it with a ZIP64 extra field. */
  readonly zip64: boolean;
}

const U32 = 0xffffffff;

function fail(message: string): never {
  throw new Error(`zip reader: ${message}`);
}

/** ZIP64 extra field values (id 0x0001) in order, from an extra block. */
function zip64Values(extra: Buffer): bigint[] {
  for (let at = 0; at + 4 <= extra.length;) {
    const id = extra.readUInt16LE(at);
    const size = extra.readUInt16LE(at + 2);
    if (id === 0x0001) {
      return Array.from({ length: size / 8 }, (_, i) => extra.readBigUInt64LE(at + 4 + 8 * i));
    }
    at += 4 + size;
  }
  return [];
}

export function readZip(path: string): ZipMember[] {
  const file = readFileSync(path);
  const end = file.length - 22;
  if (file.readUInt32LE(end) !== 0x06054b50)
    fail('no end record in the last 22 bytes (no comment is written)');
  let count = file.readUInt16LE(end + 10);
  let directory = file.readUInt32LE(end + 16);
  if (directory === U32 || count === 0xffff) {
    const locator = end - 20;
    if (file.readUInt32LE(locator) !== 0x07064b50)
      fail('placeholders in the end record but no ZIP64 locator');
    const record = Number(file.readBigUInt64LE(locator + 8));
    if (file.readUInt32LE(record) !== 0x06064b50) fail('the ZIP64 locator points at no ZIP64 end record');
    count = Number(file.readBigUInt64LE(record + 32));
    directory = Number(file.readBigUInt64LE(record + 48));
  }
  const members: ZipMember[] = [];
  let at = directory;
  for (let i = 0; i < count; i++) {
    if (file.readUInt32LE(at) !== 0x02014b50) fail(`central header ${i} has a bad signature`);
    const flags = file.readUInt16LE(at + 8);
    const method = file.readUInt16LE(at + 10);
    const crc = file.readUInt32LE(at + 16);
    let size = file.readUInt32LE(at + 24);
    let compressed = file.readUInt32LE(at + 20);
    const nameLength = file.readUInt16LE(at + 28);
    const extraLength = file.readUInt16LE(at + 30);
    const commentLength = file.readUInt16LE(at + 32);
    let offset = file.readUInt32LE(at + 42);
    const name = file.subarray(at + 46, at + 46 + nameLength).toString(flags & 0x0800 ? 'utf8' : 'latin1');
    const extra = file.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    // Only the fields whose 4-byte value is the placeholder are in the extra field, in this order.
    const values = zip64Values(extra);
    if (size === U32) size = Number(values.shift());
    if (compressed === U32) compressed = Number(values.shift());
    if (offset === U32) offset = Number(values.shift());
    if (method !== 0 || compressed !== size) fail(`member ${name} is not STORED`);
    if (file.readUInt32LE(offset) !== 0x04034b50) fail(`member ${name}: no local header at ${offset}`);
    const localName = file.readUInt16LE(offset + 26);
    const localExtra = file.readUInt16LE(offset + 28);
    if (file.subarray(offset + 30, offset + 30 + localName).toString('utf8') !== name) {
      fail(`member ${name}: the local header names another file`);
    }
    const start = offset + 30 + localName + localExtra;
    const data = file.subarray(start, start + size);
    if (crc32(data) >>> 0 !== crc) fail(`member ${name}: CRC-32 mismatch`);
    members.push({ name, data, zip64: extraLength > 0 });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return members;
}

export interface ReadNpy {
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly shape: number[];
  /** Where the data starts (a multiple of 64 for version 1.0). */
  readonly dataOffset: number;
  readonly data: Float32Array | Float64Array | Int32Array;
}

export function readNpy(bytes: Buffer): ReadNpy {
  if (bytes.subarray(0, 6).toString('latin1') !== '\x93NUMPY') throw new Error('npy reader: no magic');
  if (bytes[6] !== 1 || bytes[7] !== 0) throw new Error(`npy reader: version ${bytes[6]}.${bytes[7]}`);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  const match =
    /^\{'descr': '([<|>][a-z]\d)', 'fortran_order': (True|False), 'shape': \(((?:\d+, )*\d+,?|)\), \} *\n$/.exec(
      header,
    );
  if (!match) throw new Error(`npy reader: header ${JSON.stringify(header)}`);
  const shape =
    match[3] === ''
      ? []
      : match[3]
          .split(',')
          .filter((s) => s.trim() !== '')
          .map(Number);
  const dataOffset = 10 + headerLength;
  const body = bytes.subarray(dataOffset);
  const copy = (n: number) => new Uint8Array(body).buffer.slice(0, n);
  const descr = match[1];
  const data =
    descr === '<f4'
      ? new Float32Array(copy(body.length))
      : descr === '<f8'
        ? new Float64Array(copy(body.length))
        : descr === '<i4'
          ? new Int32Array(copy(body.length))
          : (() => {
              throw new Error(`npy reader: descr ${descr}`);
            })();
  return { descr, fortranOrder: match[2] === 'True', shape, dataOffset, data };
}

/** Every array of an `.npz` file by key (the member name without `.npy`). */
export function readNpz(path: string): Map<string, ReadNpy> {
  return new Map(readZip(path).map((m) => [m.name.replace(/\.npy$/, ''), readNpy(m.data)]));
}
