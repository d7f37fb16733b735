import { describe, expect, it } from 'vitest';

import { cropRgb, gridRectToPixels } from './crops.ts';
import type { TokenGrid } from './imageTokens.ts';

const spec: TokenGrid = { label: 'patches', rows: 2, cols: 2, cells: [1, 2, 3, 4], cellAspect: 1 };
// CLS first, then 4 patches of a centre-cropped wide image (original x from 8 to 24).
const rects = [
  null,
  { x: 8, y: 0, width: 8, height: 8 },
  { x: 16, y: 0, width: 8, height: 8 },
  { x: 8, y: 8, width: 8, height: 8 },
  { x: 16, y: 8, width: 8, height: 8.5 },
];

describe('gridRectToPixels', () => {
  it('unions the token rectangles of the cells, rounding outward and clipping to the image', () => {
    expect(
      gridRectToPixels(spec, rects, { row0: 0, col0: 1, row1: 2, col1: 2 }, { width: 32, height: 16 }),
    ).toEqual({ x: 16, y: 0, width: 8, height: 16 });
    expect(
      gridRectToPixels(spec, rects, { row0: 0, col0: 0, row1: 1, col1: 2 }, { width: 32, height: 16 }),
    ).toEqual({ x: 8, y: 0, width: 16, height: 8 });
  });

  it('refuses cells that show only padding', () => {
    expect(() =>
      gridRectToPixels(
        spec,
        [null, null, null, null, null],
        { row0: 0, col0: 0, row1: 1, col1: 1 },
        { width: 4, height: 4 },
      ),
    ).toThrow(/padding only/);
  });
});

describe('cropRgb', () => {
  it('copies the rectangle’s pixels row by row', () => {
    const image = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i) };
    expect(Array.from(cropRgb(image, { x: 1, y: 1, width: 2, height: 1 }).data)).toEqual([
      12, 13, 14, 15, 16, 17,
    ]);
    expect(() => cropRgb(image, { x: 2, y: 0, width: 2, height: 1 })).toThrow(
      /not an integer rectangle inside the 3×2 image/,
    );
  });
});
