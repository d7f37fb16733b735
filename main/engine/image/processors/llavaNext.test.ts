import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { FusionError } from '../../../common/errors.ts';
import {
  fixturePath,
  readFixtureBytes,
  readFixtureJson,
  type FixtureIndex,
  type LlavaNextPixelEntry,
} from '../fixtures/read.ts';
import { processedRectToOriginal } from '../geometry.ts';
import { loadImage } from '../load.ts';
import { parsePreprocessorConfig, preprocessImage } from '../preprocess.ts';
import { anyresLayout, asLlavaNextConfig, DEFAULT_GRID_PINPOINTS } from './llavaNext.ts';

const pixels = readFixtureJson<FixtureIndex<LlavaNextPixelEntry>>('llava_next_pixels.json');
const pixelBlob = readFixtureBytes('llava_next_pixels.bin');

const LLAVA_16 = {
  image_processor_type: 'LlavaNextImageProcessor',
  crop_size: { height: 336, width: 336 },
  size: { shortest_edge: 336 },
  image_grid_pinpoints: [
    [336, 672],
    [672, 336],
    [672, 672],
    [1008, 336],
    [336, 1008],
  ],
};

function parse(json: Record<string, unknown>) {
  return asLlavaNextConfig(parsePreprocessorConfig(json, 'preprocessor_config.json'));
}

function parseError(json: Record<string, unknown>): string {
  try {
    parse(json);
  } catch (error) {
    expect(error).toBeInstanceOf(FusionError);
    expect((error as FusionError).code).toBe('BAD_CONFIG');
    return (error as Error).message;
  }
  throw new Error('expected a BAD_CONFIG error');
}

describe('LlavaNextImageProcessor config', () => {
  it('reads the llava-v1.6 config with CLIP defaults, frozen', () => {
    const c = parse(LLAVA_16);
    expect(c.type).toBe('LlavaNextImageProcessor');
    expect(c.tileSize).toBe(336);
    expect(c.gridPinpoints[3]).toEqual({ height: 1008, width: 336 });
    expect([c.resample, c.doPadBatch, c.doCenterCrop]).toEqual(['bicubic', true, true]);
    expect(Object.isFrozen(c.gridPinpoints[0])).toBe(true);
  });

  it('is chosen by processor_class and the Fast alias; pinpoints default to transformers', () => {
    const { image_processor_type: _, image_grid_pinpoints: __, ...rest } = LLAVA_16;
    const viaClass = parse({ ...rest, processor_class: 'LlavaNextProcessor' });
    expect(viaClass.gridPinpoints).toEqual(DEFAULT_GRID_PINPOINTS);
    expect(parse({ ...LLAVA_16, image_processor_type: 'LlavaNextImageProcessorFast' }).declaredType).toBe(
      'LlavaNextImageProcessorFast',
    );
  });

  it('rejects bad pinpoints and crop sizes by name, quoting the value', () => {
    expect(parseError({ ...LLAVA_16, image_grid_pinpoints: [[336, 600]] })).toBe(
      'preprocessor_config.json: image_grid_pinpoints[0] must be a multiple of the crop size 336 on both sides, got [336,600]',
    );
    expect(parseError({ ...LLAVA_16, image_grid_pinpoints: [] })).toMatch(
      /image_grid_pinpoints must be a non-empty list of \[height, width\] pairs, got \[\]/,
    );
    expect(parseError({ ...LLAVA_16, image_grid_pinpoints: '[(336, 672)]' })).toMatch(/non-empty list/);
    expect(parseError({ ...LLAVA_16, image_grid_pinpoints: [[336, 672], [336]] })).toMatch(
      /image_grid_pinpoints\[1\] must be a \[height, width\] pair, got \[336\]/,
    );
    expect(parseError({ ...LLAVA_16, image_grid_pinpoints: [[336, -672]] })).toMatch(
      /image_grid_pinpoints\[0\]\[1\] must be a positive integer, got -672/,
    );
    const { crop_size: _, ...noCrop } = LLAVA_16;
    expect(parseError(noCrop)).toMatch(/crop_size is required for LlavaNextImageProcessor/);
    expect(parseError({ ...LLAVA_16, crop_size: { height: 336, width: 224 } })).toMatch(
      /crop_size must be square for LLaVA-NeXT tiles/,
    );
  });

  it('refuses LLaVA-1.5 pad-to-square', () => {
    const img = { width: 4, height: 3, data: new Uint8Array(36) };
    expect(() => preprocessImage(img, parse(LLAVA_16), { padToSquare: 'mean-color' })).toThrow(
      /expand2square/,
    );
  });
});

describe('LlavaNextImageProcessor pixels match the numpy/Pillow restatement', () => {
  it('has reference cases', () => {
    expect(pixels.entries.length).toBeGreaterThanOrEqual(6);
  });

  for (const e of pixels.entries) {
    it(`${e.case} on ${e.image}`, async () => {
      const config = parsePreprocessorConfig(e.config, `${e.case}.json`);
      const img = await loadImage(fixturePath('inputs', e.image));
      const out = preprocessImage(img, config);
      const anyres = out.anyres!;
      expect([anyres.bestResolution.height, anyres.bestResolution.width]).toEqual(e.bestResolution);
      expect(anyres.imageSize).toEqual({ height: img.height, width: img.width });
      const [n, c, h, w] = e.shape;
      expect(anyres.patches.length).toBe(n);
      expect(anyres.patches.length).toBe(1 + anyres.grid.rows * anyres.grid.cols);
      const all = new Float32Array(n * c * h * w);
      anyres.patches.forEach((p, i) => {
        expect([p.channels, p.height, p.width]).toEqual([c, h, w]);
        all.set(p.pixelValues, i * c * h * w);
      });
      expect(out.pixelValues).toBe(anyres.patches[0].pixelValues);
      const want = new Float32Array(pixelBlob.slice(e.offset, e.offset + e.count * 4).buffer);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(all[i * e.stride] - want[i]));
      expect(worst).toBeLessThanOrEqual(1e-5);
      // Same float32 arithmetic as numpy: identical bytes.
      const bytes = new Uint8Array(all.buffer);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(e.sha256);
    });
  }
});

describe('LLaVA-NeXT patch geometry', () => {
  const config = parse(LLAVA_16);

  it('maps the base onto the whole image and the tiles onto the resized, padded canvas', () => {
    const layout = anyresLayout(config, 480, 640); // best 672 x 672, resized 504 x 672, 84 px pad top and bottom
    expect(layout.bestResolution).toEqual({ height: 672, width: 672 });
    expect(layout.resized).toEqual({ height: 504, width: 672 });
    expect(layout.padding).toEqual({ top: 84, bottom: 84, left: 0, right: 0 });
    const [base, t00, , , t11] = layout.patches;
    expect(processedRectToOriginal(base.geometry, { x: 0, y: 0, width: 336, height: 336 })).toEqual({
      x: 0,
      y: 0,
      width: 640,
      height: 480,
    });
    const scale = 640 / 672;
    // tile (0, 0): its top 84 rows are padding; the rest shows original rows 0 .. 252 * 480/504.
    const r00 = processedRectToOriginal(t00.geometry, { x: 0, y: 0, width: 336, height: 336 })!;
    expect(r00.x).toBe(0);
    expect(r00.y).toBeCloseTo(0, 9);
    expect(r00.width).toBeCloseTo(336 * scale, 9);
    expect(r00.height).toBeCloseTo(252 * (480 / 504), 9);
    expect(processedRectToOriginal(t00.geometry, { x: 0, y: 0, width: 336, height: 84 })).toBeNull();
    const r11 = processedRectToOriginal(t11.geometry, { x: 0, y: 0, width: 336, height: 336 })!;
    expect(r11.x + r11.width).toBeCloseTo(640, 9);
    expect(r11.y + r11.height).toBeCloseTo(480, 9);
  });

  it('puts the odd padding pixel bottom/right (divmod), as the pixels show', () => {
    const layout = anyresLayout(config, 2000, 1);
    expect(layout.resized).toEqual({ height: 336, width: 1 });
    expect(layout.padding).toEqual({ top: 0, bottom: 0, left: 335, right: 336 });
  });
});
