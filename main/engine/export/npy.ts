/**
 * NumPy's `.npy` format, version 1.0 (numpy.lib.format), and `.npz`: a zip of `.npy` files, as
 * `numpy.savez` writes it (STORED, one member `<key>.npy` per array), so `numpy.load` reads the arrays
 * back bit for bit with no pickle.
 *
 *   "\x93NUMPY" 0x01 0x00 <header length, uint16 LE> <header: a Python dict literal, padded with spaces
 *   and ended by "\n" so that the data starts on a multiple of 64 bytes> <data, C order>
 */
import { endianness } from 'node:os';

import { FusionError } from '../../common/errors.ts';
import { ZipWriter, type ZipOptions } from './zip.ts';

/** The element types exported arrays use, with their NumPy descr (little-endian). */
export const NPY_DESCR = { float32: '<f4', float64: '<f8', int32: '<i4' } as const;
export type NpyDType = keyof typeof NPY_DESCR;

type DataOf<D extends NpyDType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : Int32Array;

export interface NpyArray<D extends NpyDType = NpyDType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: DataOf<D>;
}

const MAGIC = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
/** numpy.lib.format.ARRAY_ALIGN: the data of a version 1.0 file starts on a multiple of 64 bytes. */
const ALIGN = 64;
const PREAMBLE = MAGIC.length + 2 + 2;

/** Python's repr of a shape tuple: `()`, `(3,)`, `(2, 3)`. */
function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

function checkArray(array: NpyArray): void {
  if (!(array.dtype in NPY_DESCR)) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `npy: dtype '${String(array.dtype)}' is not one of ${Object.keys(NPY_DESCR).join(', ')}`,
    );
  }
  if (array.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `npy: shape ${JSON.stringify(array.shape)} must be whole numbers ≥ 0`,
    );
  }
  const size = array.shape.reduce((a, b) => a * b, 1);
  if (size !== array.data.length) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `npy: shape ${JSON.stringify(array.shape)} holds ${size} elements, the data ${array.data.length}`,
    );
  }
}

/** The bytes before the data: magic, version 1.0, header length, the padded header dict. */
export function npyHeader(array: NpyArray): Uint8Array {
  checkArray(array);
  // numpy writes the keys sorted, each followed by ", ", then "}".
  const dict = `{'descr': '${NPY_DESCR[array.dtype]}', 'fortran_order': False, 'shape': ${shapeRepr(array.shape)}, }`;
  // As numpy pads: 1 to 64 spaces, then the newline.
  const padding = ALIGN - ((PREAMBLE + dict.length + 1) % ALIGN);
  const header = `${dict}${' '.repeat(padding)}\n`;
  if (header.length > 0xffff) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `npy: a shape of ${array.shape.length} dimensions needs format 2.0`,
    );
  }
  const out = new Uint8Array(PREAMBLE + header.length);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), PREAMBLE);
  return out;
}

/** The data bytes: the typed array's own memory (little-endian on every host FusionScope runs on). */
export function npyData(array: NpyArray): Uint8Array {
  if (endianness() !== 'LE') throw new FusionError('INTERNAL', 'npy export needs a little-endian host');
  return new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
}

/** A whole `.npy` file in memory. */
export function encodeNpy(array: NpyArray): Uint8Array {
  return Buffer.concat([npyHeader(array), npyData(array)]);
}

/** Writes an `.npz` file member by member (each array is in memory only while it is added). */
export class NpzWriter {
  private readonly zip: ZipWriter;

  constructor(path: string, options: ZipOptions = {}) {
    this.zip = new ZipWriter(path, options);
  }

  /** `numpy.load(path)[key]` returns the array. */
  add(key: string, array: NpyArray): void {
    this.zip.add(`${key}.npy`, [npyHeader(array), npyData(array)]);
  }

  close(): void {
    this.zip.close();
  }

  /** Closes the file without finishing it (the caller removes it). */
  abort(): void {
    this.zip.abort();
  }
}
