/**
 * The BMP decoder (main/engine/image/bmp.ts behind decodeImage) on the format fixtures (every header
 * size, bit depth and bitfield layout it reads, each with Pillow's pixels), on their truncations and
 * byte flips (a third of them inside the headers and palette, where sizes, offsets, depths and masks
 * live), and on random bytes behind a "BM" file header with a plausible header size. The property is
 * image.ts's.
 */
import * as fc from 'fast-check';

import {
  readFixtureBytes,
  readFixtureJson,
  type FixtureIndex,
  type FormatEntry,
} from '../../engine/image/fixtures/read.ts';
import { byteMutations, mutateBytes, randomBytes, type ByteMutation, type Region } from '../bytes.ts';
import type { FuzzTarget } from '../target.ts';
import { checkImageBytes, type ImageFixture } from './image.ts';

type Recipe =
  | { readonly kind: 'fixture'; readonly base: number }
  | { readonly kind: 'bytes'; readonly base: number; readonly mutations: ByteMutation[] }
  | { readonly kind: 'random'; readonly bytes: Uint8Array };

/** The BMP samples of make_format_fixtures.py with the pixels Pillow gives. */
function bmpFixtures(): ImageFixture[] {
  const index = readFixtureJson<FixtureIndex<FormatEntry>>('formats.json');
  const blob = readFixtureBytes('formats.bin');
  return index.entries
    .filter((e) => e.file.endsWith('.bmp'))
    .map((e) => ({
      file: e.file,
      bytes: readFixtureBytes('formats', e.file),
      expected: {
        width: e.width,
        height: e.height,
        data: blob.subarray(e.offset, e.offset + e.width * e.height * 3),
      },
    }));
}

/** The file header, the bitmap header and the palette: where one flipped byte changes the layout. */
function headerRegion(bytes: Uint8Array): Region {
  const offset = bytes[10] | (bytes[11] << 8) | (bytes[12] << 16);
  return { start: 0, end: Math.min(bytes.length, Math.max(offset, 14 + bytes[14])) };
}

export const bmpTarget: FuzzTarget<Recipe> = {
  name: 'bmp',
  summary: 'decodeImage / readImageHeader on BMP fixtures, their flips and truncations, and random headers',
  weight: 1,
  async open() {
    const fixtures = bmpFixtures();
    const regions = fixtures.map((f) => [headerRegion(f.bytes)]);
    const base = fc.nat({ max: fixtures.length - 1 });
    // "BM", a file size, reserved words, a data offset, then a header size Pillow reads.
    const heads = [12, 40, 64, 108, 124].map((size) => [
      0x42,
      0x4d,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      54,
      0,
      0,
      0,
      size,
    ]);
    return {
      arbitrary: fc.oneof(
        { arbitrary: fc.record({ kind: fc.constant('fixture' as const), base }), weight: 1 },
        {
          arbitrary: fc.record({ kind: fc.constant('bytes' as const), base, mutations: byteMutations() }),
          weight: 6,
        },
        {
          arbitrary: fc.record({ kind: fc.constant('random' as const), bytes: randomBytes(heads, 400) }),
          weight: 2,
        },
      ),
      async check(recipe) {
        switch (recipe.kind) {
          case 'fixture':
            return checkImageBytes(fixtures[recipe.base].bytes, fixtures[recipe.base].expected);
          case 'bytes':
            return checkImageBytes(
              mutateBytes(fixtures[recipe.base].bytes, recipe.mutations, regions[recipe.base]),
            );
          case 'random':
            return checkImageBytes(recipe.bytes);
        }
      },
    };
  },
};
