import { describe, expect, it } from 'vitest';

import { FusionError } from '../../common/errors.ts';
import { readLlavaNextSizes } from '../image/fixtures/read.ts';
import {
  asLlavaNextConfig,
  parsePreprocessorConfig,
  processorFeatureCount,
  type LlavaNextConfig,
  type Rect,
} from '../image/index.ts';
import { nextImageTokenMap, nextTokenLayout, type NextTokenOptions } from './nextTokenMap.ts';

const fixture = readLlavaNextSizes();

function processorFor(crop: number, pinpoints: readonly (readonly number[])[]): LlavaNextConfig {
  return asLlavaNextConfig(
    parsePreprocessorConfig(
      {
        image_processor_type: 'LlavaNextImageProcessor',
        crop_size: crop,
        size: { shortest_edge: crop },
        image_grid_pinpoints: pinpoints,
      },
      'preprocessor_config.json',
    ),
  );
}

const LLAVA_16 = fixture.configs['llava-v1.6'];
const llava16 = processorFor(LLAVA_16.cropSize, LLAVA_16.pinpoints);
const CLIP_OPTIONS: NextTokenOptions = {
  patchSize: 14,
  featureSelectStrategy: 'default',
  clsTokens: 1,
  imageNewline: true,
};

describe('LLaVA-NeXT image-token count', () => {
  for (const [name, c] of Object.entries(fixture.configs)) {
    it(`${name}: the token map has pack_image_features' length and LlavaNextProcessor's count`, () => {
      const processor = processorFor(c.cropSize, c.pinpoints);
      const options: NextTokenOptions = {
        patchSize: c.patchSize,
        featureSelectStrategy: c.featureSelectStrategy,
        clsTokens: c.clsTokens,
        imageNewline: true,
      };
      const pinpoints = processor.gridPinpoints;
      const mismatches: string[] = [];
      for (const [h, w, , , , , , , , , , , , , , , modelCount, processorCount] of c.sizes) {
        const map = nextImageTokenMap(processor, options, h, w);
        const count = processorFeatureCount(
          { height: h, width: w },
          {
            pinpoints,
            tile: { height: c.cropSize, width: c.cropSize },
            patchSize: c.patchSize,
            numAdditionalImageTokens: c.clsTokens,
            featureSelectStrategy: c.featureSelectStrategy,
          },
        );
        if (map.tokens.length !== modelCount || count !== processorCount || count !== modelCount) {
          mismatches.push(`${h}x${w}: map ${map.tokens.length}, model ${modelCount}, processor ${count}`);
        }
      }
      expect(mismatches).toEqual([]);
    });
  }

  it('drops the newline tokens when the model has none', () => {
    const withNewline = nextImageTokenMap(llava16, CLIP_OPTIONS, 480, 640);
    const without = nextImageTokenMap(llava16, { ...CLIP_OPTIONS, imageNewline: false }, 480, 640);
    expect(withNewline.tokens.length - without.tokens.length).toBe(withNewline.unpadded.rows);
    expect(without.tokens.some((t) => t.kind === 'newline')).toBe(false);
  });
});

const EPS = 1e-9;

function area(r: Rect): number {
  return r.width * r.height;
}

function inside(r: Rect, w: number, h: number): boolean {
  return r.x >= -EPS && r.y >= -EPS && r.x + r.width <= w + EPS && r.y + r.height <= h + EPS;
}

describe('LLaVA-NeXT token map layout and rectangles', () => {
  it('orders base, then tile rows each closed by a newline', () => {
    const map = nextImageTokenMap(llava16, CLIP_OPTIONS, 480, 640);
    expect(map.layout.bestResolution).toEqual({ height: 672, width: 672 });
    // 640 x 480 on a 48 x 48 grid: int(round(480 * 48 / 640, 7)) = 36 rows kept, 6 cut at each end.
    expect(map.unpadded).toEqual({ top: 6, left: 0, rows: 36, cols: 48 });
    expect(map.tokens.length).toBe(576 + 36 * 49);
    expect(map.tokens.slice(0, 576).every((t) => t.kind === 'base' && t.patch === 0)).toBe(true);
    const firstRow = map.tokens.slice(576, 576 + 49);
    expect(firstRow.slice(0, 48).map((t) => [t.kind, t.row, t.col])).toEqual(
      Array.from({ length: 48 }, (_, c) => ['tile', 6, c]),
    );
    expect(firstRow[48]).toEqual({ kind: 'newline', patch: null, row: 6, col: null, rect: null });
    // row 6 lies in tile row 0: columns 0-23 come from tile (0, 0) = patch 1, 24-47 from (0, 1) = patch 2.
    expect(firstRow[23].patch).toBe(1);
    expect(firstRow[24].patch).toBe(2);
    expect(map.tokens.at(-2)!.patch).toBe(4);
  });

  it('as an image-token layout: tile grid first (kept rows × cols), then the base; newlines on no grid', () => {
    const map = nextImageTokenMap(llava16, CLIP_OPTIONS, 480, 640);
    const layout = nextTokenLayout(map);
    expect(layout.count).toBe(map.tokens.length);
    expect(layout.rects).toEqual(map.tokens.map((t) => t.rect));
    const [tiles, base] = layout.grids;
    expect([tiles.label, tiles.rows, tiles.cols, base.label, base.rows, base.cols]).toEqual([
      'tiles',
      36,
      48,
      'base',
      24,
      24,
    ]);
    expect(base.cells).toEqual(Array.from({ length: 576 }, (_, i) => i));
    // Cell (r, c) of the kept tile grid is token 576 + r * 49 + c: each row is 48 tiles and a newline.
    expect(tiles.cells).toEqual(
      Array.from({ length: 36 * 48 }, (_, i) => 576 + Math.floor(i / 48) * 49 + (i % 48)),
    );
    const onGrid = new Set([...tiles.cells, ...base.cells]);
    map.tokens.forEach((t, i) => expect(onGrid.has(i)).toBe(t.kind !== 'newline'));
  });

  const SIZES: [number, number][] = [
    [480, 640],
    [640, 480],
    [336, 336],
    [1, 1],
    [1, 2000],
    [2000, 1],
    [37, 1999],
    [1999, 37],
    [672, 1008],
    [1000, 333],
    [333, 1000],
    [4001, 4001],
    [17, 23],
  ];
  const configs: [string, LlavaNextConfig, NextTokenOptions][] = [
    ['llava-v1.6', llava16, CLIP_OPTIONS],
    [
      'tiny-odd',
      processorFor(fixture.configs['tiny-odd'].cropSize, fixture.configs['tiny-odd'].pinpoints),
      { ...CLIP_OPTIONS, patchSize: 10 },
    ],
  ];

  for (const [name, processor, options] of configs) {
    it(`${name}: base tokens tile the whole image; tile tokens tile the unpadded region without gaps or overlaps`, () => {
      for (const [h, w] of SIZES) {
        const label = `${h}x${w}`;
        const map = nextImageTokenMap(processor, options, h, w);
        const base = map.tokens.filter((t) => t.kind === 'base');
        expect(
          base.every((t) => t.rect && inside(t.rect, w, h)),
          label,
        ).toBe(true);
        expect(base.reduce((s, t) => s + area(t.rect!), 0)).toBeCloseTo(w * h, 6);

        const tiles = map.tokens.filter((t) => t.kind === 'tile');
        expect(tiles.length, label).toBe(map.unpadded.rows * map.unpadded.cols);
        const rects = tiles.map((t) => t.rect).filter((r): r is Rect => r !== null);
        expect(
          rects.every((r) => inside(r, w, h)),
          label,
        ).toBe(true);
        if (rects.length === 0) continue;
        // Disjoint and gap-free: the areas add up to the bounding box of their union ...
        const x0 = Math.min(...rects.map((r) => r.x));
        const y0 = Math.min(...rects.map((r) => r.y));
        const x1 = Math.max(...rects.map((r) => r.x + r.width));
        const y1 = Math.max(...rects.map((r) => r.y + r.height));
        const sum = rects.reduce((s, r) => s + area(r), 0);
        expect(Math.abs(sum - (x1 - x0) * (y1 - y0)) / (w * h), label).toBeLessThan(1e-9);
        // ... and neighbours in a row touch (each token starts where the previous one ends).
        for (let i = 1; i < tiles.length; i++) {
          const a = tiles[i - 1].rect;
          const b = tiles[i].rect;
          if (a && b && tiles[i].row === tiles[i - 1].row)
            expect(Math.abs(a.x + a.width - b.x)).toBeLessThan(1e-6);
        }
        // unpad_image cuts whole feature rows: at most one feature's worth of image is lost at an edge.
        const featurePx =
          options.patchSize * Math.max(w / map.layout.resized.width, h / map.layout.resized.height);
        expect(x0, label).toBeLessThanOrEqual(featurePx + 1e-6);
        expect(y0, label).toBeLessThanOrEqual(featurePx + 1e-6);
        expect(w - x1, label).toBeLessThanOrEqual(featurePx + 1e-6);
        expect(h - y1, label).toBeLessThanOrEqual(featurePx + 1e-6);
      }
    });
  }
});

describe('LLaVA-NeXT token map configuration errors', () => {
  function error(options: Partial<NextTokenOptions>): string {
    try {
      nextImageTokenMap(llava16, { ...CLIP_OPTIONS, ...options }, 100, 100);
    } catch (e) {
      expect(e).toBeInstanceOf(FusionError);
      expect((e as FusionError).code).toBe('BAD_CONFIG');
      return (e as Error).message;
    }
    throw new Error('expected BAD_CONFIG');
  }

  it('names strategy / CLS combinations that cannot lay tiles on a square grid', () => {
    expect(error({ featureSelectStrategy: 'full' })).toMatch(
      /"full" with 1 leading token\(s\) gives 577 features per tile, but LLaVA-NeXT lays each tile on a 24 x 24 grid/,
    );
    expect(error({ clsTokens: 0 })).toMatch(/gives 575 features per tile/);
  });

  it('refuses a model whose grid differs from the processor', () => {
    expect(error({ visionImageSize: 224 })).toMatch(
      /vision_config.image_size 224 differs from the processor's crop_size 336/,
    );
    expect(error({ modelPinpoints: [{ height: 336, width: 672 }] })).toMatch(
      /config.json image_grid_pinpoints \[\[336,672\]\] differ from preprocessor_config.json's \[\[336,672\],\[672,336\]/,
    );
    expect(error({ patchSize: 0 })).toMatch(
      /patch_size must be an integer from 1 to the tile size 336, got 0/,
    );
  });
});
