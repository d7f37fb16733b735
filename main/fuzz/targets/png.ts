/**
 * The PNG decoder (main/engine/image/png.ts behind decodeImage) on the fixtures, on images written by
 * pngjs and by our report encoder (encodeRgbPng), on their truncations and byte flips (optionally with
 * every CRC fixed afterwards, so the flip gets past the chunk checks), on mutations of the inflated
 * scanlines re-deflated into a valid stream, on synthetic files with random IHDR fields, palettes and
 * filter bytes, and on random bytes behind the PNG signature. The property is image.ts's.
 */
import { deflateSync, inflateSync } from 'node:zlib';

import * as fc from 'fast-check';
import { PNG } from 'pngjs';

import { crc32 } from '../../engine/image/crc32.ts';
import { readPngInfo } from '../../engine/image/png.ts';
import type { RgbImage } from '../../engine/image/types.ts';
import { encodeRgbPng } from '../../engine/report/png.ts';
import { byteMutations, mutateBytes, randomBytes, type ByteMutation, type Region } from '../bytes.ts';
import type { FuzzTarget } from '../target.ts';
import { checkImageBytes, imageFixtures, type ImageFixture } from './image.ts';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** An image pngjs or encodeRgbPng writes: pixels from a seeded ramp. */
interface EncodedSpec {
  readonly width: number;
  readonly height: number;
  readonly encoder: 'ours' | 'pngjs-rgb' | 'pngjs-rgba' | 'pngjs-grey' | 'pngjs-grey-alpha';
  readonly seed: number;
}

type Base = { readonly fixture: number } | { readonly encoded: EncodedSpec };

interface SyntheticSpec {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colorType: number;
  readonly compression: number;
  readonly filter: number;
  readonly interlace: number;
  /** PLTE entries (bytes / 3), or null for no PLTE; a non-multiple of 3 is allowed through `extra`. */
  readonly palette: number | null;
  readonly paletteExtraBytes: number;
  /** Bytes of scanline data relative to the non-interlaced size. */
  readonly rawDelta: number;
  readonly filterBytes: readonly number[];
  readonly seed: number;
}

type Recipe =
  | { readonly kind: 'fixture'; readonly base: number }
  | { readonly kind: 'encoded'; readonly spec: EncodedSpec }
  | {
      readonly kind: 'bytes';
      readonly base: Base;
      readonly mutations: ByteMutation[];
      readonly fixCrc: boolean;
    }
  | { readonly kind: 'scanlines'; readonly base: Base; readonly mutations: ByteMutation[] }
  | { readonly kind: 'synthetic'; readonly spec: SyntheticSpec }
  | { readonly kind: 'random'; readonly bytes: Uint8Array };

const encodedSpec: fc.Arbitrary<EncodedSpec> = fc.record({
  width: fc.integer({ min: 1, max: 12 }),
  height: fc.integer({ min: 1, max: 12 }),
  encoder: fc.constantFrom('ours', 'pngjs-rgb', 'pngjs-rgba', 'pngjs-grey', 'pngjs-grey-alpha'),
  seed: fc.nat({ max: 255 }),
});

const dimension = fc.oneof(
  fc.integer({ min: 1, max: 40 }),
  fc.constantFrom(0, 0x7fffffff, 0x80000000, 0xffffffff, 1 << 16, 1 << 20),
);

const syntheticSpec: fc.Arbitrary<SyntheticSpec> = fc.record({
  width: dimension,
  height: dimension,
  bitDepth: fc.oneof(fc.constantFrom(1, 2, 4, 8, 16), fc.nat({ max: 255 })),
  colorType: fc.oneof(fc.constantFrom(0, 2, 3, 4, 6), fc.nat({ max: 255 })),
  compression: fc.oneof(
    { arbitrary: fc.constant(0), weight: 8 },
    { arbitrary: fc.nat({ max: 255 }), weight: 1 },
  ),
  filter: fc.oneof({ arbitrary: fc.constant(0), weight: 8 }, { arbitrary: fc.nat({ max: 255 }), weight: 1 }),
  interlace: fc.oneof(
    { arbitrary: fc.constantFrom(0, 1), weight: 8 },
    { arbitrary: fc.nat({ max: 255 }), weight: 1 },
  ),
  palette: fc.option(fc.nat({ max: 300 })),
  paletteExtraBytes: fc.nat({ max: 2 }),
  rawDelta: fc.oneof(fc.constant(0), fc.integer({ min: -64, max: 64 })),
  filterBytes: fc.array(fc.oneof(fc.nat({ max: 4 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 8 }),
  seed: fc.nat({ max: 255 }),
});

function arbitrary(fixtures: number): fc.Arbitrary<Recipe> {
  const base: fc.Arbitrary<Base> = fc.oneof(
    fc.nat({ max: fixtures - 1 }).map((fixture) => ({ fixture })),
    encodedSpec.map((encoded) => ({ encoded })),
  );
  return fc.oneof(
    {
      arbitrary: fc.record({ kind: fc.constant('fixture' as const), base: fc.nat({ max: fixtures - 1 }) }),
      weight: 1,
    },
    { arbitrary: fc.record({ kind: fc.constant('encoded' as const), spec: encodedSpec }), weight: 1 },
    {
      arbitrary: fc.record({
        kind: fc.constant('bytes' as const),
        base,
        mutations: byteMutations(),
        fixCrc: fc.boolean(),
      }),
      weight: 5,
    },
    {
      arbitrary: fc.record({ kind: fc.constant('scanlines' as const), base, mutations: byteMutations() }),
      weight: 2,
    },
    { arbitrary: fc.record({ kind: fc.constant('synthetic' as const), spec: syntheticSpec }), weight: 3 },
    {
      arbitrary: fc.record({ kind: fc.constant('random' as const), bytes: randomBytes([SIGNATURE], 256) }),
      weight: 1,
    },
  );
}

const ramp = (length: number, seed: number): Uint8Array =>
  Uint8Array.from({ length }, (_, i) => (i * 37 + seed * 11 + ((i * i) >> 3)) & 0xff);

/** The file, and the RGB pixels it must decode to when they are known exactly. */
function encode(spec: EncodedSpec): { bytes: Uint8Array; expected?: RgbImage } {
  const { width, height, seed } = spec;
  const n = width * height;
  if (spec.encoder === 'ours') {
    const image = { width, height, data: ramp(n * 3, seed) };
    return { bytes: encodeRgbPng(image), expected: image };
  }
  const rgba = Buffer.from(ramp(n * 4, seed));
  // Opaque pixels for the colour types without alpha: pngjs would composite the rest over a background.
  if (spec.encoder !== 'pngjs-rgba' && spec.encoder !== 'pngjs-grey-alpha')
    for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  const colorType = { 'pngjs-rgb': 2, 'pngjs-rgba': 6, 'pngjs-grey': 0, 'pngjs-grey-alpha': 4 }[
    spec.encoder
  ] as 0 | 2 | 4 | 6;
  const png = Object.assign(new PNG({ width, height }), { data: rgba });
  const bytes = new Uint8Array(PNG.sync.write(png, { colorType }));
  if (colorType !== 2 && colorType !== 6) return { bytes };
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) rgb.set(rgba.subarray(i * 4, i * 4 + 3), i * 3);
  return { bytes, expected: { width, height, data: rgb } };
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Rewrites the CRC of every chunk whose length still fits in the file, so flips reach the parser. */
function fixCrcs(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  const view = new DataView(out.buffer);
  for (let pos = 8; pos + 12 <= out.length;) {
    const length = view.getUint32(pos);
    if (pos + 12 + length > out.length) break;
    view.setUint32(pos + 8 + length, crc32(out.subarray(pos + 4, pos + 8 + length)));
    pos += 12 + length;
  }
  return out;
}

/** Each chunk of a valid base, header and data, for `region` mutations. */
function chunkRegions(bytes: Uint8Array): Region[] {
  return readPngInfo(bytes).chunks.map((c) => ({ start: c.start, end: c.start + 12 + c.data.length }));
}

/** The base with its image data inflated, mutated, deflated again into one IDAT chunk. */
function mutateScanlines(bytes: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array {
  const chunks = readPngInfo(bytes).chunks;
  const idat = chunks.filter((c) => c.type === 'IDAT');
  const raw = inflateSync(Buffer.concat(idat.map((c) => c.data)));
  const data = deflateSync(mutateBytes(raw, mutations));
  const parts: Uint8Array[] = [Uint8Array.from(SIGNATURE)];
  for (const c of chunks) {
    if (c === idat[0]) parts.push(chunk('IDAT', data));
    else if (c.type !== 'IDAT') parts.push(bytes.subarray(c.start, c.start + 12 + c.data.length));
  }
  return Buffer.concat(parts);
}

function synthetic(spec: SyntheticSpec): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, spec.width);
  view.setUint32(4, spec.height);
  ihdr.set([spec.bitDepth, spec.colorType, spec.compression, spec.filter, spec.interlace], 8);
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[spec.colorType] ?? 1;
  // Only small images get their true scanline size: a huge one is refused by the pixel cap first.
  const rowBytes = 1 + Math.ceil((Math.min(spec.width, 64) * channels * spec.bitDepth) / 8);
  const rawLength = Math.max(0, rowBytes * Math.min(spec.height, 64) + spec.rawDelta);
  const raw = ramp(rawLength, spec.seed);
  for (let row = 0; row * rowBytes < rawLength; row++)
    raw[row * rowBytes] = spec.filterBytes[row % spec.filterBytes.length];
  const parts = [Uint8Array.from(SIGNATURE), chunk('IHDR', ihdr)];
  if (spec.palette !== null)
    parts.push(chunk('PLTE', ramp(spec.palette * 3 + spec.paletteExtraBytes, spec.seed + 1)));
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

export const pngTarget: FuzzTarget<Recipe> = {
  name: 'png',
  summary:
    'decodeImage / readImageHeader on PNG fixtures, pngjs and encodeRgbPng output, mutated and synthetic files',
  weight: 3,
  async open() {
    const fixtures: ImageFixture[] = imageFixtures('.png');
    const baseBytes = (base: Base): Uint8Array =>
      'fixture' in base ? fixtures[base.fixture].bytes : encode(base.encoded).bytes;
    return {
      arbitrary: arbitrary(fixtures.length),
      async check(recipe) {
        switch (recipe.kind) {
          case 'fixture':
            return checkImageBytes(fixtures[recipe.base].bytes, fixtures[recipe.base].expected);
          case 'encoded': {
            const { bytes, expected } = encode(recipe.spec);
            return checkImageBytes(bytes, expected ?? 'valid');
          }
          case 'bytes': {
            const base = baseBytes(recipe.base);
            const mutated = mutateBytes(base, recipe.mutations, chunkRegions(base));
            return checkImageBytes(recipe.fixCrc ? fixCrcs(mutated) : mutated);
          }
          case 'scanlines':
            return checkImageBytes(mutateScanlines(baseBytes(recipe.base), recipe.mutations));
          case 'synthetic':
            return checkImageBytes(synthetic(recipe.spec));
          case 'random':
            return checkImageBytes(recipe.bytes);
        }
      },
    };
  },
};
