/**
 * The .npy v1.0 header against the format's text (numpy.lib.format) and hand-computed bytes; then
 * files written here read by NumPy (when python3 has it) bit for bit, and NumPy's own files read by the
 * test reader, so writer and reader are each checked against the reference implementation.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeNpy, npyHeader, NpzWriter, type NpyArray } from './npy.ts';
import { readNpy, readNpz } from './npz.testing.ts';
import { pythonHas, runPythonCode, skipReason } from './python.testing.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-npy-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const hex = (a: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

describe('npyHeader', () => {
  it('writes the magic, version 1.0, and numpy’s dict literal padded to 64 bytes', () => {
    const header = Buffer.from(npyHeader({ dtype: 'float32', shape: [2, 3], data: new Float32Array(6) }));
    expect([...header.subarray(0, 8)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    expect(header.readUInt16LE(8)).toBe(header.length - 10);
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    // 10 + 60 characters + padding + newline = 128 (the next multiple of 64 after 71).
    expect(header.length).toBe(128);
    expect(header.subarray(10).toString('latin1')).toBe(`${dict}${' '.repeat(128 - 10 - dict.length - 1)}\n`);
  });

  it('spells shapes as Python tuples and dtypes as little-endian descrs', () => {
    const dictOf = (array: NpyArray) =>
      Buffer.from(npyHeader(array)).subarray(10).toString('latin1').trimEnd();
    expect(dictOf({ dtype: 'float64', shape: [], data: new Float64Array(1) })).toBe(
      "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
    );
    expect(dictOf({ dtype: 'int32', shape: [5], data: new Int32Array(5) })).toBe(
      "{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }",
    );
    expect(dictOf({ dtype: 'float32', shape: [0, 4], data: new Float32Array(0) })).toContain(
      "'shape': (0, 4)",
    );
  });

  it('refuses data that does not fill the shape, and negative or fractional dimensions', () => {
    expect(() => npyHeader({ dtype: 'float32', shape: [2, 2], data: new Float32Array(3) })).toThrow(
      /shape \[2,2\] holds 4 elements, the data 3/,
    );
    expect(() => npyHeader({ dtype: 'float32', shape: [-1], data: new Float32Array(0) })).toThrow(
      /whole numbers/,
    );
    expect(() => npyHeader({ dtype: 'float32', shape: [1.5], data: new Float32Array(0) })).toThrow(
      /whole numbers/,
    );
  });
});

describe('encodeNpy', () => {
  it('puts the elements after the header in little-endian order, bits kept', () => {
    // 1.5f = 0x3fc00000, −0 = 0x80000000, NaN (quiet) = 0x7fc00000.
    const bytes = Buffer.from(
      encodeNpy({ dtype: 'float32', shape: [3], data: Float32Array.of(1.5, -0, NaN) }),
    );
    expect(bytes.length % 64).toBe(12 % 64);
    expect(bytes.subarray(bytes.length - 12).toString('hex')).toBe('0000c03f000000800000c07f');
    const read = readNpy(bytes);
    expect(read.shape).toEqual([3]);
    expect(read.dataOffset % 64).toBe(0);
  });
});

const ARRAYS: Record<string, NpyArray> = {
  f4: { dtype: 'float32', shape: [2, 3], data: Float32Array.of(0.1, -0, NaN, Infinity, -Infinity, 3e-45) },
  f8: { dtype: 'float64', shape: [2, 1, 2], data: Float64Array.of(Math.PI, -0, 1e308, 5e-324) },
  i4: { dtype: 'int32', shape: [4], data: Int32Array.of(-2147483648, -1, 0, 2147483647) },
  scalar: { dtype: 'float32', shape: [], data: Float32Array.of(7) },
  empty: { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) },
};

describe('npz files', () => {
  it('read back by the test reader with every key, shape and bit', () => {
    const path = join(root, 'own.npz');
    const npz = new NpzWriter(path);
    for (const [key, array] of Object.entries(ARRAYS)) npz.add(key, array);
    npz.close();
    const read = readNpz(path);
    expect([...read.keys()]).toEqual(Object.keys(ARRAYS));
    for (const [key, array] of Object.entries(ARRAYS)) {
      expect(read.get(key)!.shape, key).toEqual(array.shape);
      expect(hex(read.get(key)!.data), key).toBe(hex(array.data));
    }
  });

  it(`load in NumPy with the same shapes, dtypes and bits${skipReason('numpy')}`, ({ skip }) => {
    if (!pythonHas('numpy')) skip();
    const path = join(root, 'numpy.npz');
    const npz = new NpzWriter(path);
    for (const [key, array] of Object.entries(ARRAYS)) npz.add(key, array);
    npz.close();
    const run = runPythonCode(
      `import sys, json, numpy as np
z = np.load(sys.argv[1], allow_pickle=False)
print(json.dumps({k: [z[k].dtype.str, list(z[k].shape), z[k].tobytes().hex()] for k in z.files}))`,
      [path],
    );
    expect(run.stderr).toBe('');
    const loaded = JSON.parse(run.stdout) as Record<string, [string, number[], string]>;
    const descr = { float32: '<f4', float64: '<f8', int32: '<i4' };
    expect(Object.keys(loaded)).toEqual(Object.keys(ARRAYS));
    for (const [key, array] of Object.entries(ARRAYS)) {
      expect(loaded[key], key).toEqual([descr[array.dtype], array.shape, hex(array.data)]);
    }
  });

  it(`the test reader reads what NumPy's savez writes${skipReason('numpy')}`, ({ skip }) => {
    if (!pythonHas('numpy')) skip();
    const path = join(root, 'saved.npz');
    const run = runPythonCode(
      `import sys, numpy as np
np.savez(sys.argv[1], a=np.arange(6, dtype='<f4').reshape(2, 3) / 7, b=np.array([-1, 5], dtype='<i4'))`,
      [path],
    );
    expect(run.stderr).toBe('');
    const read = readNpz(path);
    expect(read.get('a')!.shape).toEqual([2, 3]);
    expect([...read.get('a')!.data]).toEqual([...Float32Array.from([0, 1, 2, 3, 4, 5], (v) => v / 7)]);
    expect([...read.get('b')!.data]).toEqual([-1, 5]);
  });
});
