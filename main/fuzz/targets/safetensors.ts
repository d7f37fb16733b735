/**
 * The safetensors reader (native-models/safetensors/read.ts) on files built from random tensor specs
 * (every dtype, empty and odd shapes, metadata, header padding, trailing bytes), on random headers
 * (any JSON, random length fields and data sizes), on structural mutations of a valid header, and on
 * truncations and byte flips of valid files.
 *
 * Property: readSafetensorsHeader returns, or rejects with ModelFormatError BAD_WEIGHTS. What it returns
 * is consistent (each entry's bytes match its dtype and shape and lie inside the file, no two overlap)
 * and can be read through WeightStore; a file built from a valid spec returns exactly that spec.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as fc from 'fast-check';

import { ModelFormatError } from '../../../native-models/errors.ts';
import {
  DTYPE_BYTES,
  WeightStore,
  readSafetensorsHeader,
  type SafetensorsDType,
  type TensorEntry,
} from '../../../native-models/safetensors/read.ts';
import { byteMutations, mutateBytes, type ByteMutation } from '../bytes.ts';
import {
  jsonMutations,
  jsonText,
  materialize,
  mutateJson,
  oddJson,
  type JsonMutation,
  type OddValue,
} from '../json.ts';
import { ensure, rejectsOnlyWith, type FuzzTarget } from '../target.ts';

interface TensorSpec {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
}

interface FileSpec {
  readonly tensors: readonly TensorSpec[];
  readonly metadata: Readonly<Record<string, string>> | null;
  /** Spaces after the JSON (the reference writer pads the header to a multiple of 8). */
  readonly padding: number;
  /** Bytes after the last tensor. */
  readonly trailing: number;
}

type Recipe =
  | { readonly kind: 'valid'; readonly spec: FileSpec }
  | { readonly kind: 'bytes'; readonly spec: FileSpec; readonly mutations: ByteMutation[] }
  | { readonly kind: 'header'; readonly spec: FileSpec; readonly mutations: JsonMutation[] }
  | {
      readonly kind: 'random';
      readonly header: OddValue;
      /** The 8-byte length field: the header's true length plus this (may wrap to huge values). */
      readonly lengthDelta: bigint;
      readonly dataBytes: number;
    };

const DTYPES = Object.keys(DTYPE_BYTES) as SafetensorsDType[];
const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16', 'F64']);

const tensorSpec: fc.Arbitrary<TensorSpec> = fc.record({
  name: fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.constantFrom('model.layers.0.weight', '__proto__', 'constructor', '', '\u202e'),
  ),
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 4 }),
});

const fileSpec: fc.Arbitrary<FileSpec> = fc.record({
  tensors: fc
    .uniqueArray(tensorSpec, {
      maxLength: 6,
      selector: (t) => t.name,
    })
    .map((tensors) => tensors.filter((t) => t.name !== '__metadata__')),
  metadata: fc.option(
    fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  ),
  padding: fc.nat({ max: 9 }),
  trailing: fc.nat({ max: 9 }),
});

const arbitrary: fc.Arbitrary<Recipe> = fc.oneof(
  fc.record({ kind: fc.constant('valid' as const), spec: fileSpec }),
  fc.record({ kind: fc.constant('bytes' as const), spec: fileSpec, mutations: byteMutations() }),
  fc.record({ kind: fc.constant('header' as const), spec: fileSpec, mutations: jsonMutations() }),
  fc.record({
    kind: fc.constant('random' as const),
    header: oddJson,
    lengthDelta: fc.oneof(
      fc.constant(0n),
      fc.bigInt({ min: -16n, max: 16n }),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    ),
    dataBytes: fc.nat({ max: 4096 }),
  }),
);

const elements = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The header object a spec describes, tensors back to back in spec order. */
function headerOf(spec: FileSpec): { header: Record<string, unknown>; dataBytes: number } {
  const header: Record<string, unknown> = {};
  if (spec.metadata !== null) header.__metadata__ = spec.metadata;
  let offset = 0;
  for (const t of spec.tensors) {
    const bytes = elements(t.shape) * DTYPE_BYTES[t.dtype];
    // defineProperty keeps "__proto__" an ordinary key, as JSON.parse reads it.
    Object.defineProperty(header, t.name, {
      value: { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] },
      enumerable: true,
      writable: true,
      configurable: true,
    });
    offset += bytes;
  }
  return { header, dataBytes: offset };
}

/** length (u64 LE) + header text + data (a byte ramp, so flips show). */
function fileBytes(headerText: string, length: bigint, dataBytes: number): Uint8Array {
  const json = Buffer.from(headerText, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt.asUintN(64, length));
  const data = Uint8Array.from({ length: dataBytes }, (_, i) => i & 0xff);
  return Buffer.concat([prefix, json, data]);
}

function specFile(spec: FileSpec): Uint8Array {
  const { header, dataBytes } = headerOf(spec);
  const text = JSON.stringify(header) + ' '.repeat(spec.padding);
  return fileBytes(text, BigInt(Buffer.byteLength(text)), dataBytes + spec.trailing);
}

/** The bytes a recipe stands for. */
export function buildSafetensors(recipe: Recipe): Uint8Array {
  switch (recipe.kind) {
    case 'valid':
      return specFile(recipe.spec);
    case 'bytes': {
      const base = specFile(recipe.spec);
      // `region` flips land in the length field or the header, where the parsing happens.
      const headerEnd = 8 + Number(Buffer.from(base).readBigUInt64LE(0));
      return mutateBytes(base, recipe.mutations, [
        { start: 0, end: 8 },
        { start: 8, end: headerEnd },
      ]);
    }
    case 'header': {
      const { header, dataBytes } = headerOf(recipe.spec);
      const text = jsonText(mutateJson(header, recipe.mutations));
      return fileBytes(text, BigInt(Buffer.byteLength(text)), dataBytes + recipe.spec.trailing);
    }
    case 'random': {
      const text = jsonText(materialize(recipe.header));
      return fileBytes(text, BigInt(Buffer.byteLength(text)) + recipe.lengthDelta, recipe.dataBytes);
    }
  }
}

const isBadWeights = (error: unknown) => error instanceof ModelFormatError && error.code === 'BAD_WEIGHTS';

/** What any accepted header must satisfy, whatever the file held. */
function checkConsistent(entries: Map<string, TensorEntry>, file: string, size: number): void {
  const ranges: Array<[number, number]> = [];
  for (const [name, e] of entries) {
    ensure(
      e.name === name && e.file === file,
      () => `entry ${JSON.stringify(name)} is filed under another name`,
    );
    ensure(Object.hasOwn(DTYPE_BYTES, e.dtype), () => `entry ${JSON.stringify(name)} has dtype ${e.dtype}`);
    ensure(
      e.shape.every((d) => Number.isSafeInteger(d) && d >= 0),
      () => `entry ${JSON.stringify(name)} has shape ${JSON.stringify(e.shape)}`,
    );
    ensure(
      e.byteLength === elements(e.shape) * DTYPE_BYTES[e.dtype],
      () => `entry ${JSON.stringify(name)}: ${e.byteLength} bytes for ${e.dtype}${JSON.stringify(e.shape)}`,
    );
    ensure(
      Number.isSafeInteger(e.byteOffset) && e.byteOffset >= 8 && e.byteOffset + e.byteLength <= size,
      () =>
        `entry ${JSON.stringify(name)} [${e.byteOffset}, +${e.byteLength}) lies outside the ${size}-byte file`,
    );
    if (e.byteLength > 0) ranges.push([e.byteOffset, e.byteOffset + e.byteLength]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    ensure(ranges[i][0] >= ranges[i - 1][1], () => 'two accepted tensors overlap');
  }
}

function checkMatchesSpec(entries: Map<string, TensorEntry>, spec: FileSpec): void {
  ensure(
    entries.size === spec.tensors.length,
    () => `${entries.size} tensors read, ${spec.tensors.length} written`,
  );
  for (const t of spec.tensors) {
    const e = entries.get(t.name);
    ensure(
      e !== undefined && e.dtype === t.dtype && JSON.stringify(e.shape) === JSON.stringify(t.shape),
      () => `tensor ${JSON.stringify(t.name)} read back as ${JSON.stringify(e)}`,
    );
  }
}

async function readThroughStore(dir: string, entries: Map<string, TensorEntry>): Promise<void> {
  const store = await WeightStore.open(dir);
  try {
    for (const [name, e] of entries) {
      if (FLOAT_DTYPES.has(e.dtype)) {
        const values = await store.readFloat32(name);
        ensure(values.length === elements(e.shape), () => `${name}: ${values.length} values read`);
      } else {
        await rejectsOnlyWith(() => store.readFloat32(name), isBadWeights, `readFloat32 of ${e.dtype}`);
      }
    }
  } finally {
    await store.close();
  }
}

export const safetensorsTarget: FuzzTarget<Recipe> = {
  name: 'safetensors',
  summary: 'readSafetensorsHeader / WeightStore on generated, random-header, mutated and flipped files',
  weight: 2,
  async open() {
    const dir = await mkdtemp(join(tmpdir(), 'fusionscope-fuzz-safetensors-'));
    const file = join(dir, 'model.safetensors');
    return {
      arbitrary,
      async check(recipe) {
        const bytes = buildSafetensors(recipe);
        await writeFile(file, bytes);
        const entries = await rejectsOnlyWith(
          () => readSafetensorsHeader(file),
          isBadWeights,
          'readSafetensorsHeader',
        );
        if (recipe.kind === 'valid') {
          ensure(entries !== undefined, () => 'a valid file was refused');
          checkMatchesSpec(entries, recipe.spec);
        }
        if (entries === undefined) return;
        checkConsistent(entries, file, bytes.length);
        await readThroughStore(dir, entries);
      },
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  },
};
