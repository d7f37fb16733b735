/**
 * The JPEG decoder (main/engine/image/jpeg/ behind decodeImage) on the fixtures (baseline, extended,
 * progressive, restart intervals, every sampling layout, grey, RGB, CMYK, EXIF), on their truncations
 * and byte flips (half of them inside marker segments: tables, frame and scan headers), on reordered,
 * dropped and repeated segments (a scan before its tables, two frames, a progressive scan out of
 * order), and on random bytes behind the SOI marker. The property is image.ts's.
 */
import * as fc from 'fast-check';

import { EOI, isStandalone, nextMarker, readSegment } from '../../engine/image/jpeg/markers.ts';
import { byteMutations, mutateBytes, randomBytes, type ByteMutation, type Region } from '../bytes.ts';
import type { FuzzTarget } from '../target.ts';
import { checkImageBytes, imageFixtures, type ImageFixture } from './image.ts';

type SegmentOp =
  | { readonly op: 'drop'; readonly i: number }
  | { readonly op: 'repeat'; readonly i: number }
  | { readonly op: 'swap'; readonly i: number; readonly j: number };

type Recipe =
  | { readonly kind: 'fixture'; readonly base: number }
  | { readonly kind: 'bytes'; readonly base: number; readonly mutations: ByteMutation[] }
  | {
      readonly kind: 'segments';
      readonly base: number;
      readonly ops: SegmentOp[];
      readonly mutations: ByteMutation[];
    }
  | { readonly kind: 'random'; readonly bytes: Uint8Array };

const segmentOp: fc.Arbitrary<SegmentOp> = fc.oneof(
  fc.record({ op: fc.constant('drop' as const), i: fc.nat({ max: 64 }) }),
  fc.record({ op: fc.constant('repeat' as const), i: fc.nat({ max: 64 }) }),
  fc.record({ op: fc.constant('swap' as const), i: fc.nat({ max: 64 }), j: fc.nat({ max: 64 }) }),
);

function arbitrary(fixtures: number): fc.Arbitrary<Recipe> {
  const base = fc.nat({ max: fixtures - 1 });
  return fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('fixture' as const), base }), weight: 1 },
    {
      arbitrary: fc.record({ kind: fc.constant('bytes' as const), base, mutations: byteMutations() }),
      weight: 6,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('segments' as const),
        base,
        ops: fc.array(segmentOp, { minLength: 1, maxLength: 3 }),
        mutations: fc.oneof(fc.constant<ByteMutation[]>([]), byteMutations(2)),
      }),
      weight: 3,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('random' as const),
        bytes: randomBytes([[0xff, 0xd8, 0xff]], 512),
      }),
      weight: 1,
    },
  );
}

/**
 * A valid file cut at each marker: SOI, each segment with the entropy-coded data that follows it
 * (a scan's data stays with its SOS), EOI. Also the segments' own spans, for `region` mutations.
 */
function split(bytes: Uint8Array): { pieces: Uint8Array[]; regions: Region[] } {
  const starts = [0];
  const regions: Region[] = [];
  for (let pos = 2; ;) {
    const m = nextMarker(bytes, pos);
    if (isStandalone(m.marker)) {
      if (m.marker === EOI) {
        starts.push(m.pos - 2);
        break;
      }
      pos = m.pos; // RSTn inside a scan's data
      continue;
    }
    const segment = readSegment(bytes, m.pos);
    starts.push(m.pos - 2);
    regions.push({ start: m.pos - 2, end: segment.end });
    pos = segment.end;
  }
  starts.push(bytes.length);
  const pieces = starts.slice(0, -1).map((start, k) => bytes.subarray(start, starts[k + 1]));
  return { pieces, regions };
}

function reorder(pieces: readonly Uint8Array[], ops: readonly SegmentOp[]): Uint8Array {
  const out = [...pieces];
  for (const op of ops) {
    const i = op.i % out.length;
    if (op.op === 'drop' && out.length > 1) out.splice(i, 1);
    else if (op.op === 'repeat') out.splice(i, 0, out[i]);
    else if (op.op === 'swap') {
      const j = op.j % out.length;
      [out[i], out[j]] = [out[j], out[i]];
    }
  }
  return Buffer.concat(out);
}

export const jpegTarget: FuzzTarget<Recipe> = {
  name: 'jpeg',
  summary: 'decodeImage / readImageHeader on JPEG fixtures, their flips, truncations and reordered segments',
  weight: 3,
  async open() {
    const fixtures: ImageFixture[] = imageFixtures('.jpg');
    const parts = fixtures.map((f) => split(f.bytes));
    return {
      arbitrary: arbitrary(fixtures.length),
      async check(recipe) {
        switch (recipe.kind) {
          case 'fixture':
            return checkImageBytes(fixtures[recipe.base].bytes, fixtures[recipe.base].expected);
          case 'bytes':
            return checkImageBytes(
              mutateBytes(fixtures[recipe.base].bytes, recipe.mutations, parts[recipe.base].regions),
            );
          case 'segments':
            return checkImageBytes(
              mutateBytes(reorder(parts[recipe.base].pieces, recipe.ops), recipe.mutations),
            );
          case 'random':
            return checkImageBytes(recipe.bytes);
        }
      },
    };
  },
};
