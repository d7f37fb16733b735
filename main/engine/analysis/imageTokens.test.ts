import { describe, expect, it } from 'vitest';

import { FusionError } from '../../common/errors.ts';
import { parsePreprocessorConfig, preprocessImage, type RgbImage } from '../image/index.ts';
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

describe('merged-patch image-token layout (Qwen2-VL)', () => {
  const qwenSpec = {
    imageTokens: { kind: 'merged-patches', patchSize: 4, mergeSize: 2, temporalPatchSize: 2, visionHeads: 4 },
  } as const;
  // factor 8: sides become multiples of 8 with 64..1024 pixels (see qwen2vl.test.ts for smart_resize).
  const qwen = parsePreprocessorConfig(
    {
      image_processor_type: 'Qwen2VLImageProcessor',
      patch_size: 4,
      merge_size: 2,
      temporal_patch_size: 2,
      min_pixels: 64,
      max_pixels: 1024,
    },
    'qwen',
  );
  const blank = (width: number, height: number): RgbImage => ({
    width,
    height,
    data: new Uint8Array(width * height * 3),
  });

  it('lays a tall image out as (h / merge) × (w / merge) tokens on the non-uniformly scaled original', () => {
    // 30 wide × 52 tall → 24 × 40 (x scale 30/24 = 1.25, y scale 52/40 = 1.3): 6 × 10 patches, 3 × 5 tokens.
    const image = preprocessImage(blank(30, 52), qwen);
    const { count, rects, grids } = imageTokenLayout(qwenSpec, image, qwen);
    expect(count).toBe(15);
    expect(grids).toEqual([
      { label: 'merged patches', rows: 5, cols: 3, cells: [...Array(15).keys()], cellAspect: 1 },
    ]);
    // token (r, c) covers processed [8c, 8c + 8) × [8r, 8r + 8): original x 10c.., y 10.4r..
    rects.forEach((rect, i) => {
      const r = Math.floor(i / 3);
      const c = i % 3;
      expect(rect!.x).toBeCloseTo(10 * c, 9);
      expect(rect!.y).toBeCloseTo(10.4 * r, 9);
      expect(rect!.width).toBeCloseTo(10, 9);
      expect(rect!.height).toBeCloseTo(10.4, 9);
    });
    // the tokens tile the whole original, nothing more
    const area = rects.reduce((sum, rect) => sum + rect!.width * rect!.height, 0);
    expect(area).toBeCloseTo(30 * 52, 6);
  });

  it('lays a wide image out as one row of tokens', () => {
    // 100 × 20: rounds to 96 × 16 = 1536 > 1024, shrinks to 64 × 8: 16 × 2 patches, 8 × 1 tokens;
    // x scale 100/64 = 1.5625, y scale 20/8 = 2.5.
    const image = preprocessImage(blank(100, 20), qwen);
    expect([image.width, image.height]).toEqual([64, 8]);
    const { count, rects, grids } = imageTokenLayout(qwenSpec, image, qwen);
    expect(count).toBe(8);
    expect([grids[0].rows, grids[0].cols]).toEqual([1, 8]);
    expect(rects[7]!.x).toBeCloseTo(87.5, 9);
    expect(rects[7]!.width).toBeCloseTo(12.5, 9);
    expect(rects[7]!.y).toBeCloseTo(0, 9);
    expect(rects[7]!.height).toBeCloseTo(20, 9);
  });

  it('refuses images from other processors and processors whose patches differ from the model’s', () => {
    const fromClip = preprocessImage(blank(16, 16), clip());
    const noPatches = (() => {
      try {
        imageTokenLayout(qwenSpec, fromClip, clip());
      } catch (error) {
        return error as FusionError;
      }
    })();
    expect(noPatches).toBeInstanceOf(FusionError);
    expect(noPatches?.code).toBe('BAD_CONFIG');
    // A processor cutting other patches than the model's vision_config would scramble the tokens.
    const image = preprocessImage(blank(30, 52), qwen);
    const otherMerge = { imageTokens: { ...qwenSpec.imageTokens, mergeSize: 4 } };
    expect(() => imageTokenLayout(otherMerge, image, qwen)).toThrow(
      /preprocessor_config.json's merge_size is 2 but the model's vision_config says 4/,
    );
    const otherPatch = { imageTokens: { ...qwenSpec.imageTokens, patchSize: 8 } };
    expect(() => imageTokenLayout(otherPatch, image, qwen)).toThrow(/patch_size is 4 .* says 8/);
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
