import { describe, expect, it } from 'vitest';

import { parsePreprocessorConfig, preprocessImage } from '../image/index.ts';
import { attentionMassInBoxes, fixedGridLayout, imageTokenLayout } from './imageTokens.ts';

const spec = {
  imageTokens: { kind: 'fixed-grid', perImage: 4, rows: 2, cols: 2, leadingTokens: 0 },
} as const;
const clip = (extra: object = {}) =>
  parsePreprocessorConfig(
    {
      image_processor_type: 'CLIPImageProcessor',
      size: { shortest_edge: 8 },
      crop_size: { height: 8, width: 8 },
      ...extra,
    },
    'test',
  );

describe('fixed-grid image-token layout', () => {
  it('maps patches of a centre-cropped wide image back to its middle columns', () => {
    // 32×16 → resize to 16×8 (scale 2) → centre crop 8×8 at x = 4 → original x ∈ [8, 24).
    const image = preprocessImage({ width: 32, height: 16, data: new Uint8Array(32 * 16 * 3) }, clip());
    const { count, rects, grids } = imageTokenLayout(spec, image);
    expect(count).toBe(4);
    expect(grids).toEqual([{ label: 'patches', rows: 2, cols: 2, cells: [0, 1, 2, 3], cellAspect: 1 }]);
    expect(rects[0]).toEqual({ x: 8, y: 0, width: 8, height: 8 });
    expect(rects[3]).toEqual({ x: 16, y: 8, width: 8, height: 8 });
  });

  it('gives padding-only patches no rectangle when the image is padded to a square', () => {
    // 16×4 padded to 16×16 (image rows 6..10), resized to 8×8: top and bottom patches are padding.
    const image = preprocessImage({ width: 16, height: 4, data: new Uint8Array(16 * 4 * 3) }, clip(), {
      padToSquare: 'mean-color',
    });
    const { count, rects, grids } = fixedGridLayout({ rows: 4, cols: 4, leadingTokens: 1 }, image);
    expect(count).toBe(17);
    expect(rects).toHaveLength(17);
    expect(grids[0].cells[0]).toBe(1); // the grid starts after CLS
    expect(rects[0]).toBeNull(); // CLS
    expect(rects[1]).toBeNull(); // top row: padding
    expect(rects[5]?.y).toBeCloseTo(0, 9); // second row starts at the image's first row
  });
});

describe('attentionMassInBoxes', () => {
  it('renormalises and weights tokens by the covered fraction', () => {
    const rects = [
      { x: 0, y: 0, width: 10, height: 10 },
      { x: 10, y: 0, width: 10, height: 10 },
    ];
    // Token 0 fully inside, token 1 half inside; raw attention sums to 0.5.
    expect(attentionMassInBoxes([0.1, 0.4], rects, [[0, 0, 15, 10]])).toBeCloseTo(0.2 + 0.8 * 0.5, 12);
    expect(attentionMassInBoxes([0.1, 0.4], [null, rects[1]], [[0, 0, 10, 10]])).toBe(0);
  });
});
