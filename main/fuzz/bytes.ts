/**
 * Byte-level mutations of a valid file: truncation, single bytes, multi-byte integers (lengths, sizes,
 * offsets), insertions, deletions and copies. Positions are plain naturals taken modulo the length, so
 * fast-check shrinks them towards the start of the file and towards fewer, smaller changes.
 *
 * A target may name *regions* of its base file (PNG chunks, JPEG marker segments, a safetensors
 * header): `region` mutations land inside one of them, which is where random flips rarely reach in
 * files made mostly of compressed data.
 */
import * as fc from 'fast-check';

export interface Region {
  readonly start: number;
  readonly end: number;
}

export type ByteMutation =
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'set'; readonly at: number; readonly value: number }
  | {
      readonly op: 'word';
      readonly at: number;
      readonly size: 1 | 2 | 4 | 8;
      readonly littleEndian: boolean;
      readonly value: bigint;
    }
  | { readonly op: 'region'; readonly region: number; readonly at: number; readonly value: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: readonly number[] }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  | { readonly op: 'copy'; readonly from: number; readonly to: number; readonly length: number };

/** Byte values that sit on boundaries (sign bits, all ones, markers) more often than chance would. */
const byteValue = fc.oneof(
  fc.constantFrom(0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe),
  fc.integer({ min: 0, max: 255 }),
);

/** Lengths and sizes that break arithmetic: zero, one, powers of two and their neighbours, all ones. */
const wordValue = fc.oneof(
  fc.constantFrom(0n, 1n, 2n, 7n, 8n, 255n, 256n, 0x7fffn, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn),
  fc.constantFrom(2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n),
  fc.nat({ max: 0xffff }).map(BigInt),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);

const position = fc.nat({ max: 1 << 24 });

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('truncate' as const), at: position }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('set' as const), at: position, value: byteValue }), weight: 4 },
  {
    arbitrary: fc.record({
      op: fc.constant('word' as const),
      at: position,
      size: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
      littleEndian: fc.boolean(),
      value: wordValue,
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('region' as const),
      region: fc.nat({ max: 64 }),
      at: position,
      value: byteValue,
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('insert' as const),
      at: position,
      bytes: fc.array(byteValue, { minLength: 1, maxLength: 16 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('delete' as const),
      at: position,
      length: fc.integer({ min: 1, max: 64 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('copy' as const),
      from: position,
      to: position,
      length: fc.integer({ min: 1, max: 256 }),
    }),
    weight: 1,
  },
);

export const byteMutations = (maxLength = 6): fc.Arbitrary<ByteMutation[]> =>
  fc.array(byteMutation, { minLength: 1, maxLength });

function writeWord(out: Uint8Array, at: number, size: number, littleEndian: boolean, value: bigint): void {
  for (let i = 0; i < size && at + i < out.length; i++) {
    const shift = BigInt(8 * (littleEndian ? i : size - 1 - i));
    out[at + i] = Number((value >> shift) & 0xffn);
  }
}

/** `base` with `mutations` applied in order (`base` itself is left as is). */
export function mutateBytes(
  base: Uint8Array,
  mutations: readonly ByteMutation[],
  regions: readonly Region[] = [],
): Uint8Array {
  let out = Uint8Array.from(base);
  for (const m of mutations) {
    const n = out.length;
    switch (m.op) {
      case 'truncate':
        out = out.slice(0, m.at % (n + 1));
        break;
      case 'set':
        if (n > 0) out[m.at % n] = m.value;
        break;
      case 'word':
        if (n > 0) writeWord(out, m.at % n, m.size, m.littleEndian, m.value);
        break;
      case 'region': {
        const region = regions.length > 0 ? regions[m.region % regions.length] : { start: 0, end: n };
        const start = Math.min(region.start, n);
        const length = Math.min(region.end, n) - start;
        if (length > 0) out[start + (m.at % length)] = m.value;
        break;
      }
      case 'insert': {
        const at = m.at % (n + 1);
        const next = new Uint8Array(n + m.bytes.length);
        next.set(out.subarray(0, at));
        next.set(m.bytes, at);
        next.set(out.subarray(at), at + m.bytes.length);
        out = next;
        break;
      }
      case 'delete': {
        if (n === 0) break;
        const at = m.at % n;
        const next = new Uint8Array(n - Math.min(m.length, n - at));
        next.set(out.subarray(0, at));
        next.set(out.subarray(at + m.length), at);
        out = next;
        break;
      }
      case 'copy': {
        if (n === 0) break;
        const from = m.from % n;
        out.copyWithin(m.to % n, from, Math.min(n, from + m.length));
        break;
      }
    }
  }
  return out;
}

/** Uniformly random bytes, sometimes behind a format's magic number so they get past detection. */
export const randomBytes = (
  prefixes: readonly (readonly number[])[],
  maxLength = 2048,
): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(fc.constantFrom([], ...prefixes), fc.uint8Array({ maxLength }))
    .map(([prefix, rest]) => Uint8Array.from([...prefix, ...rest]));
