import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ModelFormatError } from '../errors.ts';
import { floatToBf16, floatToHalf, halfToFloat } from './dtypes.ts';
import { WeightStore, readSafetensorsHeader } from './read.ts';
import { writeSafetensors } from './write.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusionscope-safetensors-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A safetensors file assembled by hand, so corrupt variants can be produced. */
async function rawFile(
  name: string,
  header: object | string,
  data: Uint8Array,
  options: { headerLength?: bigint } = {},
): Promise<string> {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(options.headerLength ?? BigInt(json.length));
  const file = join(dir, name);
  await writeFile(file, Buffer.concat([length, json, data]));
  return file;
}

async function rejection(promise: Promise<unknown>): Promise<ModelFormatError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFormatError);
    return error as ModelFormatError;
  }
  throw new Error('expected a ModelFormatError, but nothing was thrown');
}

const f32 = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

describe('writeSafetensors', () => {
  it('writes the byte layout of the reference library', async () => {
    const file = join(dir, 'one.safetensors');
    await writeSafetensors(file, [{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]);
    const bytes = await readFile(file);
    const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    expect(bytes.readBigUInt64LE(0)).toBe(BigInt(padded.length));
    expect(bytes.subarray(8, 8 + padded.length).toString('utf8')).toBe(padded);
    expect([...new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8 + padded.length))]).toEqual([1, 2]);
    expect(bytes.length).toBe(8 + padded.length + 8);
  });

  it('round-trips F32, F16, BF16 and I64 tensors with metadata through the reader', async () => {
    const values = Float64Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) * 10 ** ((i % 7) - 3));
    const ints = BigInt64Array.from([0n, -1n, 9007199254740993n, -(2n ** 63n)]);
    const file = join(dir, 'model.safetensors');
    await writeSafetensors(
      file,
      [
        { name: 'x.f32', dtype: 'F32', shape: [4, 6], data: values },
        { name: 'x.f16', dtype: 'F16', shape: [2, 3, 4], data: values },
        { name: 'x.bf16', dtype: 'BF16', shape: [24], data: Float32Array.from(values) },
        { name: 'ids', dtype: 'I64', shape: [2, 2], data: ints },
        { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
      ],
      { format: 'pt' },
    );

    const bytes = await readFile(file);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    expect(Object.keys(header)[0]).toBe('__metadata__');
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(header['x.f32'].data_offsets).toEqual([0, 96]);
    expect(header['x.f16'].data_offsets).toEqual([96, 144]);
    expect(header['x.bf16'].data_offsets).toEqual([144, 192]);
    expect(header.ids.data_offsets).toEqual([192, 224]);
    expect(header.empty.data_offsets).toEqual([224, 224]);
    expect(bytes.length).toBe(8 + headerLength + 224);

    const entries = await readSafetensorsHeader(file);
    expect(entries.get('x.f16')).toMatchObject({ dtype: 'F16', shape: [2, 3, 4], byteLength: 48 });

    const store = await WeightStore.open(dir);
    try {
      expect(store.names().sort()).toEqual(['empty', 'ids', 'x.bf16', 'x.f16', 'x.f32']);
      expect([...(await store.readFloat32('x.f32'))]).toEqual([...Float32Array.from(values)]);
      const half = await store.readFloat32('x.f16');
      const bf16 = await store.readFloat32('x.bf16');
      for (let i = 0; i < values.length; i++) {
        expect(half[i]).toBe(halfToFloat(floatToHalf(values[i])));
        expect(bf16[i]).toBe(new Float32Array(new Uint32Array([floatToBf16(values[i]) << 16]).buffer)[0]);
        // Round to nearest: no representable neighbour is closer.
        expect(Math.abs(half[i] - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) * 2 ** -11 + 2 ** -25);
        expect(Math.abs(bf16[i] - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) * 2 ** -8);
      }
      const raw = await store.readRaw('ids');
      const aligned = new Uint8Array(raw.length);
      aligned.set(raw);
      expect([...new BigInt64Array(aligned.buffer)]).toEqual([...ints]);
      expect((await store.readFloat32('empty')).length).toBe(0);
      await expect(store.readFloat32('ids')).rejects.toThrow(/I64/);
    } finally {
      await store.close();
    }
  });

  it('rounds halfway cases to even', async () => {
    // 1 + 2^-11 lies halfway between float16 1 and 1 + 2^-10; 1 + 3·2^-11 halfway between 1 + 2^-10 and 1 + 2^-9.
    const data = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8]);
    const file = join(dir, 'model.safetensors');
    await writeSafetensors(file, [
      { name: 'h', dtype: 'F16', shape: [2], data: data.subarray(0, 2) },
      { name: 'b', dtype: 'BF16', shape: [2], data: data.subarray(2, 4) },
    ]);
    const store = await WeightStore.open(dir);
    try {
      expect([...(await store.readFloat32('h'))]).toEqual([1, 1 + 2 ** -9]);
      expect([...(await store.readFloat32('b'))]).toEqual([1, 1 + 2 ** -6]);
    } finally {
      await store.close();
    }
  });

  it('leaves no file behind when the input is invalid', async () => {
    const file = join(dir, 'bad.safetensors');
    await expect(
      writeSafetensors(file, [{ name: 'a', dtype: 'F32', shape: [3], data: new Float32Array(2) }]),
    ).rejects.toThrow(/shape \[3\] but 2 values/);
    await expect(
      writeSafetensors(file, [
        { name: 'a', dtype: 'F32', shape: [1], data: new Float32Array(1) },
        { name: 'a', dtype: 'F32', shape: [1], data: new Float32Array(1) },
      ]),
    ).rejects.toThrow(/appears twice/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('never leaves a half-written file: a failure mid-write keeps the previous file intact', async () => {
    const file = join(dir, 'model.safetensors');
    await writeSafetensors(file, [{ name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([5]) }]);
    const before = await readFile(file);
    // The second tensor fails while being encoded, after the header and first tensor were written.
    await expect(
      writeSafetensors(file, [
        { name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
        { name: 'b', dtype: 'I64', shape: [1], data: new Float32Array(1) },
      ]),
    ).rejects.toThrow(/BigInt64Array/);
    expect(await readdir(dir)).toEqual(['model.safetensors']);
    expect((await readFile(file)).equals(before)).toBe(true);
  });
});

describe('readSafetensorsHeader rejects corrupt files', () => {
  const good = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };

  it('accepts the well-formed baseline', async () => {
    const file = await rawFile('ok.safetensors', good, f32([1, 2]));
    expect((await readSafetensorsHeader(file)).get('a')).toMatchObject({
      byteLength: 8,
      byteOffset: 8 + JSON.stringify(good).length,
    });
  });

  it('a shape nested thousands deep (found by fuzzing: the message used to overflow the stack)', async () => {
    const shape = `${'['.repeat(6000)}${']'.repeat(6000)}`;
    const file = await rawFile(
      'deep.safetensors',
      `{"t":{"dtype":"F32","shape":${shape},"data_offsets":[0,0]}}`,
      f32([]),
    );
    const error = await rejection(readSafetensorsHeader(file));
    expect(error.code).toBe('BAD_WEIGHTS');
    expect(error.message).toMatch(/tensor "t" has invalid shape an array nested too deeply to show/);
  });

  it('a file too short to hold the header length', async () => {
    const file = join(dir, 'short.safetensors');
    await writeFile(file, Buffer.from([1, 2, 3]));
    const error = await rejection(readSafetensorsHeader(file));
    expect(error.code).toBe('BAD_WEIGHTS');
    expect(error.message).toMatch(/short\.safetensors: file is 3 bytes/);
  });

  it('a header length past the end of the file', async () => {
    const file = await rawFile('eof.safetensors', good, f32([1, 2]), { headerLength: 1000n });
    const error = await rejection(readSafetensorsHeader(file));
    expect(error.code).toBe('BAD_WEIGHTS');
    expect(error.message).toMatch(/eof\.safetensors: header length 1000 runs past the end of the file/);
  });

  it('a header length beyond 2^53', async () => {
    const file = await rawFile('huge.safetensors', good, f32([1, 2]), { headerLength: 2n ** 63n });
    expect((await rejection(readSafetensorsHeader(file))).message).toMatch(/runs past the end/);
  });

  it('a header that is not valid JSON: located, never quoted', async () => {
    const file = await rawFile('json.safetensors', '{"a": {"dtype": "F32",', f32([1, 2]));
    const error = await rejection(readSafetensorsHeader(file));
    expect(error.message).toBe('json.safetensors: header is not valid JSON (it ends early)');
    const secret = await rawFile('secret.safetensors', 'token=hunter2', f32([1, 2]));
    expect((await rejection(readSafetensorsHeader(secret))).message).toBe(
      'secret.safetensors: header is not valid JSON (at line 1, column 1)',
    );
  });

  it('control characters of tensor names are escaped in messages', async () => {
    const header = { 'w\u001b[2J\r': { dtype: 'F8', shape: [2], data_offsets: [0, 8] } };
    const file = await rawFile('escape.safetensors', header, f32([1, 2]));
    expect((await rejection(readSafetensorsHeader(file))).message).toMatch(
      /^escape\.safetensors: tensor "w\\u001b\[2J\\r" has unknown dtype "F8"/,
    );
  });

  it('a header that is JSON but not an object', async () => {
    const file = await rawFile('array.safetensors', '[1, 2]', f32([1, 2]));
    expect((await rejection(readSafetensorsHeader(file))).message).toMatch(/header is not a JSON object/);
  });

  it('overlapping data offsets', async () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    const file = await rawFile('overlap.safetensors', header, f32([1, 2, 3]));
    const error = await rejection(readSafetensorsHeader(file));
    expect(error.message).toMatch(/overlap\.safetensors: tensors "a" and "b" have overlapping data_offsets/);
  });

  it('overlap with a tensor that is not the previous one in offset order', async () => {
    const header = {
      big: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      inner: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
      later: { dtype: 'F32', shape: [1], data_offsets: [12, 16] },
    };
    const file = await rawFile('nested.safetensors', header, f32([1, 2, 3, 4]));
    expect((await rejection(readSafetensorsHeader(file))).message).toMatch(/overlapping data_offsets/);
  });

  it('data offsets past the data section', async () => {
    const header = { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } };
    const file = await rawFile('range.safetensors', header, f32([1, 2]));
    const error = await rejection(readSafetensorsHeader(file));
    expect(error.message).toMatch(
      /range\.safetensors: tensor "a" data_offsets \[0, 16\] run past the data section \(8 bytes\)/,
    );
  });

  it('data offsets that are reversed, negative or not a pair', async () => {
    for (const [i, offsets] of [[8, 0], [-8, 0], [0], [0, 8, 16], 'x', [0.5, 8]].entries()) {
      const header = { a: { dtype: 'F32', shape: [2], data_offsets: offsets } };
      const file = await rawFile(`offsets${i}.safetensors`, header, f32([1, 2]));
      expect((await rejection(readSafetensorsHeader(file))).message).toMatch(
        /tensor "a" has invalid data_offsets/,
      );
    }
  });

  it('a dtype and shape that disagree with the byte length', async () => {
    const header = { w: { dtype: 'F16', shape: [3], data_offsets: [0, 8] } };
    const file = await rawFile('size.safetensors', header, f32([1, 2]));
    const error = await rejection(readSafetensorsHeader(file));
    expect(error.message).toMatch(
      /size\.safetensors: tensor "w" is F16\[3\] = 6 bytes but its data_offsets span 8 bytes/,
    );
  });

  it('an unknown dtype', async () => {
    const header = { w: { dtype: 'F8_E9M9', shape: [2], data_offsets: [0, 8] } };
    const file = await rawFile('dtype.safetensors', header, f32([1, 2]));
    const error = await rejection(readSafetensorsHeader(file));
    expect(error.message).toMatch(/dtype\.safetensors: tensor "w" has unknown dtype "F8_E9M9"/);
  });

  it('an invalid shape', async () => {
    const header = { w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } };
    const file = await rawFile('shape.safetensors', header, f32([1, 2]));
    expect((await rejection(readSafetensorsHeader(file))).message).toMatch(/tensor "w" has invalid shape/);
  });

  it('a missing file', async () => {
    const error = await rejection(readSafetensorsHeader(join(dir, 'nope.safetensors')));
    expect(error.code).toBe('MISSING_FILE');
  });
});

describe('WeightStore', () => {
  async function writeShards(): Promise<void> {
    await writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), [
      { name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
    ]);
    await writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), [
      { name: 'b', dtype: 'F16', shape: [1], data: new Float32Array([3]) },
    ]);
  }

  it('opens a sharded checkpoint through its index', async () => {
    await writeShards();
    const weightMap = { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' };
    await writeFile(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    const store = await WeightStore.open(dir);
    try {
      expect([...(await store.readFloat32('a'))]).toEqual([1, 2]);
      expect([...(await store.readFloat32('b'))]).toEqual([3]);
      expect(store.entry('b').file).toBe(join(dir, 'model-00002-of-00002.safetensors'));
      expect(() => store.entry('c')).toThrow(/tensor "c" is missing/);
    } finally {
      await store.close();
    }
  });

  it('rejects an index naming a tensor its shard lacks', async () => {
    await writeShards();
    const weightMap = { a: 'model-00001-of-00002.safetensors', b: 'model-00001-of-00002.safetensors' };
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    const error = await rejection(WeightStore.open(dir));
    expect(error.code).toBe('BAD_WEIGHTS');
    expect(error.message).toMatch(
      /model\.safetensors\.index\.json: lists "b" in model-00001-of-00002\.safetensors, but that shard does not contain it/,
    );
  });

  it('rejects an index naming a missing shard, a path, or lacking a weight_map', async () => {
    await writeShards();
    const index = join(dir, 'model.safetensors.index.json');
    await writeFile(index, JSON.stringify({ weight_map: { a: 'model-00003-of-00003.safetensors' } }));
    expect((await rejection(WeightStore.open(dir))).code).toBe('MISSING_FILE');
    await writeFile(index, JSON.stringify({ weight_map: { a: '../model-00001-of-00002.safetensors' } }));
    expect((await rejection(WeightStore.open(dir))).message).toMatch(/is not a shard file name/);
    await writeFile(index, JSON.stringify({ metadata: {} }));
    expect((await rejection(WeightStore.open(dir))).message).toMatch(/has no "weight_map" object/);
    await writeFile(index, '{"weight_map": ');
    expect((await rejection(WeightStore.open(dir))).message).toMatch(/index\.json: is not valid JSON/);
  });

  it('says what is at model.safetensors when it is no file, instead of "missing" or a bare EISDIR', async () => {
    const single = join(dir, 'model.safetensors');
    await mkdir(single);
    expect(await rejection(WeightStore.open(dir))).toMatchObject({
      code: 'MISSING_FILE',
      message: `${single} is a directory, not a file`,
    });
    await rm(single, { recursive: true });
    await symlink(single, single);
    expect((await rejection(WeightStore.open(dir))).message).toBe(
      `${single} is a symlink loop (or a symbolic link where none is allowed)`,
    );
  });

  it.runIf(process.platform !== 'win32')(
    'refuses a FIFO shard without blocking',
    async () => {
      await writeShards();
      const fifo = join(dir, 'model-00003-of-00003.safetensors');
      execFileSync('mkfifo', [fifo]);
      const weightMap = { a: 'model-00001-of-00002.safetensors', b: 'model-00003-of-00003.safetensors' };
      await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
      expect((await rejection(WeightStore.open(dir))).message).toBe(
        `${fifo} is a FIFO (named pipe), not a regular file; refusing to read it`,
      );
    },
    10_000,
  );

  it('reads tensors through the handle it checked: a file swapped in later is never read', async () => {
    await writeSafetensors(join(dir, 'model.safetensors'), [
      { name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
    ]);
    const store = await WeightStore.open(dir);
    try {
      await writeSafetensors(join(dir, 'other.safetensors'), [
        { name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([7, 7]) },
      ]);
      await rename(join(dir, 'other.safetensors'), join(dir, 'model.safetensors'));
      expect([...(await store.readFloat32('a'))]).toEqual([1, 2]);
    } finally {
      await store.close();
    }
  });

  it('reports a folder without weights', async () => {
    const error = await rejection(WeightStore.open(dir));
    expect(error.code).toBe('MISSING_FILE');
    expect(error.message).toMatch(/neither model\.safetensors nor model\.safetensors\.index\.json/);
  });
});

describe('reader edge cases', () => {
  it('an index file containing JSON null is reported as a ModelFormatError, not a TypeError', async () => {
    await writeSafetensors(join(dir, 'model-00001-of-00001.safetensors'), [
      { name: 'a', dtype: 'F32', shape: [1], data: new Float32Array([1]) },
    ]);
    await writeFile(join(dir, 'model.safetensors.index.json'), 'null');
    await rejection(WeightStore.open(dir));
  });

  it('an empty tensor sharing its offset with the next tensor is not an overlap', async () => {
    // Legal per the format (the reference library sorts by (begin, end)); JSON key order is not significant.
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      c: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
      b: { dtype: 'F32', shape: [0], data_offsets: [8, 8] },
    };
    const file = await rawFile('empty.safetensors', header, f32([1, 2, 3, 4]));
    expect((await readSafetensorsHeader(file)).size).toBe(3);
  });

  it('a shard named ".." in the index is rejected by name', async () => {
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: '..' } }));
    await expect(WeightStore.open(dir)).rejects.toThrow(
      /weight_map\["a"\] = "\.\." is not a shard file name/,
    );
  });
});
