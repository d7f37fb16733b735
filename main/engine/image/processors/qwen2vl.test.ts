import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { FusionError } from '../../../common/errors.ts';
import { fixturePath, readFixtureBytes, readFixtureJson } from '../fixtures/read.ts';
import { processedRectToOriginal } from '../geometry.ts';
import { loadImage } from '../load.ts';
import { parsePreprocessorConfig, preprocessImage } from '../preprocess.ts';
import type { RgbImage } from '../types.ts';
import { asQwen2VlConfig, flattenPatches, qwen2VlImageProcessor, smartResize } from './qwen2vl.ts';

/** Written by fixtures/make_qwen2vl_fixtures.py (an independent Python + numpy + Pillow restatement). */
interface SizesFixture {
  readonly configs: Readonly<
    Record<
      string,
      {
        readonly factor: number;
        readonly minPixels: number;
        readonly maxPixels: number;
        /** [height, width, resized height, resized width]; resized -1, -1 where smart_resize raises */
        readonly sizes: readonly (readonly [number, number, number, number])[];
      }
    >
  >;
}

interface PixelEntry {
  readonly case: string;
  readonly config: Record<string, unknown>;
  readonly image: string;
  readonly grid: [number, number, number];
  readonly resized: [number, number];
  /** [t·h·w, C·T·P·P] */
  readonly shape: [number, number];
  /** SHA-256 of all flattened float32 values, and of the resized (3, H, W) image. */
  readonly sha256: string;
  readonly imageSha256: string;
  readonly offset: number;
  readonly stride: number;
  readonly count: number;
}

const MAX = 28 * 28 * 1280;

function errorOf(fn: () => unknown): FusionError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FusionError);
    return error as FusionError;
  }
  throw new Error('expected a FusionError');
}

function sha256(values: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength))
    .digest('hex');
}

const parse = (json: Record<string, unknown>) =>
  asQwen2VlConfig(
    parsePreprocessorConfig({ image_processor_type: 'Qwen2VLImageProcessor', ...json }, 'p.json'),
  );

describe('smartResize', () => {
  // Worked by hand from transformers' smart_resize (factor 28, min 56·56, max 28·28·1280 unless
  // stated) and cross-checked with the Python restatement in fixtures/make_qwen2vl_fixtures.py.
  it.each([
    // 70/28 = 2.5 and Python's round() halves to even: 2·28 = 56 (a JS Math.round would give 84).
    [70, 70, 28, 3136, MAX, 56, 56],
    // 42/28 = 1.5 → 2, 98/28 = 3.5 → 4.
    [42, 98, 28, 3136, MAX, 56, 112],
    // round → 1008 × 1988 > max; beta = sqrt(2e6 / 1003520) ≈ 1.41173; floor(25.30)·28, floor(50.60)·28.
    [1000, 2000, 28, 3136, MAX, 700, 1400],
    // round → 28 × 28 < min; beta = sqrt(3136 / 475) ≈ 2.5695; ceil(2.29)·28, ceil(1.74)·28.
    [25, 19, 28, 3136, MAX, 84, 56],
    // a 1 × 1 image rounds to 0 × 0 and grows: beta = 56, ceil(2)·28.
    [1, 1, 28, 3136, MAX, 56, 56],
    // round → 28 × 2996 > 7840; beta ≈ 3.3881; floor(0.32) = 0, held at one factor; floor(31.6)·28.
    [30, 3000, 28, 784, 7840, 28, 868],
    // growing may overshoot max: round → 0 × 1988 < 3136; beta ≈ 0.39698; ceil(0.14)·28, ceil(28.2)·28.
    [10, 1990, 28, 3136, 3136, 28, 812],
    // aspect ratio exactly 200 is allowed.
    [1, 200, 28, 3136, MAX, 28, 812],
    // the tiny fixture config (factor 8, 64..1024): 48 × 64 = 3072 > 1024 → beta ≈ 1.7321 → 24 × 32;
    [48, 64, 8, 64, 1024, 24, 32],
    // 52/8 = 6.5 → 6 (even), 30/8 → 4: 48 × 32 > 1024 → beta ≈ 1.2343 → floor(5.27)·8, floor(3.04)·8.
    [52, 30, 8, 64, 1024, 40, 24],
  ])('smart_resize(%i, %i, factor %i, %i..%i) = %i × %i', (h, w, factor, lo, hi, rh, rw) => {
    expect(smartResize(h, w, factor, lo, hi)).toEqual({ height: rh, width: rw });
  });

  it('agrees with the Python restatement on every fixture size and pixel budget', () => {
    const fixture = readFixtureJson<SizesFixture>('qwen2vl_sizes.json');
    let checked = 0;
    let refused = 0;
    for (const [name, c] of Object.entries(fixture.configs)) {
      for (const [h, w, rh, rw] of c.sizes) {
        if (rh === -1) {
          expect(errorOf(() => smartResize(h, w, c.factor, c.minPixels, c.maxPixels)).code, name).toBe(
            'BAD_IMAGE',
          );
          refused++;
        } else {
          expect(smartResize(h, w, c.factor, c.minPixels, c.maxPixels), `${name} ${h}×${w}`).toEqual({
            height: rh,
            width: rw,
          });
        }
        checked++;
      }
    }
    expect(Object.keys(fixture.configs)).toHaveLength(4);
    expect(checked).toBeGreaterThan(4000);
    expect(refused).toBeGreaterThan(20);
  });

  it('refuses aspect ratios over 200 and bad arguments', () => {
    const wide = errorOf(() => smartResize(1, 201, 28, 3136, MAX));
    expect(wide.code).toBe('BAD_IMAGE');
    expect(wide.message).toMatch(/201×1 image has aspect ratio 201\.0.*more than 200/);
    expect(errorOf(() => smartResize(401, 2, 28, 3136, MAX)).code).toBe('BAD_IMAGE');
    expect(errorOf(() => smartResize(28, 28, 28, 5000, 4000)).message).toMatch(
      /minPixels 5000 is larger than maxPixels 4000/,
    );
    expect(errorOf(() => smartResize(28, 28, 0, 1, 4000)).message).toMatch(/factor must be a positive/);
    expect(errorOf(() => smartResize(0, 28, 28, 1, 4000)).message).toMatch(/height must be a positive/);
  });
});

describe('flattenPatches', () => {
  // 3 × 8 × 12 image, every value c·10000 + y·100 + x; patch 2, merge 2, temporal 2: a 4 × 6 patch
  // grid in 2 × 3 merged blocks.
  const H = 8;
  const W = 12;
  const pixels = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) pixels[c * H * W + y * W + x] = c * 10000 + y * 100 + x;
  const out = flattenPatches(pixels, H, W, 2, 2, 2);
  const row = (r: number) => Array.from(out.values.subarray(r * out.patchWidth, (r + 1) * out.patchWidth));

  it('gives image_grid_thw and the row width C·T·P·P', () => {
    expect([out.t, out.h, out.w, out.patchWidth]).toEqual([1, 4, 6, 24]);
    expect(out.values).toHaveLength(24 * 24);
  });

  it('flattens each patch (channel, temporal, row, column), the still frame repeated', () => {
    // patch (0, 0): pixels (0,0) (0,1) (1,0) (1,1) per frame, two frames, then the next channel.
    const p00 = [0, 1, 100, 101];
    expect(row(0)).toEqual([
      ...p00,
      ...p00,
      ...p00.map((v) => v + 10000),
      ...p00.map((v) => v + 10000),
      ...p00.map((v) => v + 20000),
      ...p00.map((v) => v + 20000),
    ]);
    // patch (1, 0) is row 2: the merge block's second row comes before patch (0, 2).
    expect(row(2).slice(0, 8)).toEqual([200, 201, 300, 301, 200, 201, 300, 301]);
    // row 4 opens the second merge block: patch (0, 2), pixels x = 4, 5.
    expect(row(4).slice(0, 4)).toEqual([4, 5, 104, 105]);
    // the last row: patch (3, 5), channel 2, frame 1, bottom-right pixel (7, 11).
    expect(row(23).at(-1)).toBe(20711);
  });

  it('orders patches (h / merge, w / merge, merge, merge): each 2 × 2 block consecutive', () => {
    const positions = Array.from({ length: 24 }, (_, r) => {
      const first = row(r)[0]; // channel 0, top-left pixel of the patch
      return [Math.floor(first / 100) / 2, (first % 100) / 2];
    });
    expect(positions).toEqual([
      [0, 0], [0, 1], [1, 0], [1, 1], [0, 2], [0, 3], [1, 2], [1, 3], [0, 4], [0, 5], [1, 4], [1, 5],
      [2, 0], [2, 1], [3, 0], [3, 1], [2, 2], [2, 3], [3, 2], [3, 3], [2, 4], [2, 5], [3, 4], [3, 5],
    ]); // prettier-ignore
    // every element of every row: the pixel of its (channel, frame, row, column) in its patch
    for (let r = 0; r < 24; r++) {
      const [gh, gw] = positions[r];
      row(r).forEach((v, k) => {
        const c = Math.floor(k / 8);
        const py = Math.floor(k / 2) % 2;
        const px = k % 2;
        expect(v).toBe(c * 10000 + (gh * 2 + py) * 100 + gw * 2 + px);
      });
    }
  });

  it('refuses images that do not split into merged patches', () => {
    expect(errorOf(() => flattenPatches(pixels, H, W, 3, 2, 2)).code).toBe('BAD_ARGUMENT');
    expect(errorOf(() => flattenPatches(pixels, H, W, 2, 2, 3)).code).toBe('BAD_ARGUMENT');
  });
});

describe('Qwen2VLImageProcessor.preprocess', () => {
  it('lays a non-square uint8 image into patches unchanged when resize, rescale and normalise are off', () => {
    // 12 × 4, value c·48 + y·12 + x: patch 2, merge 2 → a 2 × 6 grid, one row of three merged blocks.
    const data = new Uint8Array(12 * 4 * 3);
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 12; x++)
        for (let c = 0; c < 3; c++) data[(y * 12 + x) * 3 + c] = c * 48 + y * 12 + x;
    const config = parse({
      patch_size: 2,
      merge_size: 2,
      temporal_patch_size: 1,
      do_resize: false,
      do_rescale: false,
      do_normalize: false,
    });
    const out = preprocessImage({ width: 12, height: 4, data }, config);
    expect([out.height, out.width]).toEqual([4, 12]);
    const p = out.patches!;
    expect([p.t, p.h, p.w, p.patchWidth]).toEqual([1, 2, 6, 12]);
    // row 3 = patch (1, 1): y 2..3, x 2..3 ; channel 1 adds 48
    expect(Array.from(p.values.subarray(3 * 12, 4 * 12))).toEqual([
      26, 27, 38, 39, 74, 75, 86, 87, 122, 123, 134, 135,
    ]);
    // row 4 = patch (0, 2), the second merged block
    expect(Array.from(p.values.subarray(4 * 12, 4 * 12 + 4))).toEqual([4, 5, 16, 17]);
    expect(out.geometry.steps).toEqual([]);
  });

  it('refuses an image that does not fit the patches when do_resize is off', () => {
    const config = parse({ patch_size: 2, merge_size: 2, do_resize: false });
    const error = errorOf(() =>
      preprocessImage({ width: 10, height: 4, data: new Uint8Array(10 * 4 * 3) }, config),
    );
    expect(error.code).toBe('BAD_CONFIG');
    expect(error.message).toMatch(/do_resize is false.*multiples of patch_size × merge_size = 4.*10×4/);
  });

  it('refuses an image with aspect ratio over 200, and mean-colour padding', () => {
    const config = parse({});
    const thin = { width: 402, height: 2, data: new Uint8Array(402 * 2 * 3) };
    expect(errorOf(() => preprocessImage(thin, config)).code).toBe('BAD_IMAGE');
    const square = { width: 28, height: 28, data: new Uint8Array(28 * 28 * 3) };
    expect(errorOf(() => preprocessImage(square, config, { padToSquare: 'mean-color' })).code).toBe(
      'BAD_ARGUMENT',
    );
  });

  it('records the non-uniform resize, so patches map back onto the original pixels', () => {
    // 30 wide × 52 tall, tiny config → 24 × 40 (see smartResize): x scale 30/24, y scale 52/40.
    const config = parse({ patch_size: 4, merge_size: 2, min_pixels: 64, max_pixels: 1024 });
    const img: RgbImage = { width: 30, height: 52, data: new Uint8Array(30 * 52 * 3) };
    const out = preprocessImage(img, config);
    expect([out.width, out.height]).toEqual([24, 40]);
    expect([out.patches!.h, out.patches!.w]).toEqual([10, 6]);
    expect(out.geometry.scaleX).toBeCloseTo(1.25, 12);
    expect(out.geometry.scaleY).toBeCloseTo(1.3, 12);
    const last = processedRectToOriginal(out.geometry, { x: 16, y: 32, width: 8, height: 8 });
    expect(last!.x).toBeCloseTo(20, 9);
    expect(last!.y).toBeCloseTo(41.6, 9);
    expect(last!.width).toBeCloseTo(10, 9);
    expect(last!.height).toBeCloseTo(10.4, 9);
  });
});

describe('Qwen2VLImageProcessor matches a numpy + Pillow restatement of transformers', () => {
  const fixture = readFixtureJson<{ entries: readonly PixelEntry[] }>('qwen2vl_pixels.json');
  const blob = readFixtureBytes('qwen2vl_pixels.bin');

  it('has non-square, shrinking, growing and real-config cases', () => {
    expect(fixture.entries.length).toBeGreaterThanOrEqual(7);
    expect(fixture.entries.some((e) => e.grid[1] !== e.grid[2])).toBe(true);
  });

  for (const e of fixture.entries) {
    it(`${e.case} on ${e.image}: grid ${e.grid.join('×')}`, async () => {
      const config = parsePreprocessorConfig(e.config, `${e.case}.json`);
      const out = preprocessImage(await loadImage(fixturePath('inputs', e.image)), config);
      expect([out.height, out.width]).toEqual(e.resized);
      const p = out.patches!;
      expect([p.t, p.h, p.w]).toEqual(e.grid);
      expect([p.t * p.h * p.w, p.patchWidth]).toEqual(e.shape);
      const want = new Float32Array(blob.slice(e.offset, e.offset + e.count * 4).buffer);
      let worst = 0;
      for (let i = 0; i < want.length; i++)
        worst = Math.max(worst, Math.abs(p.values[i * e.stride] - want[i]));
      // Pillow's uint8 resize is reproduced bit for bit and the float32 arithmetic is numpy's, so the
      // values are not just within 1e-6 but byte-identical (hashes over every value).
      expect(worst).toBeLessThanOrEqual(1e-6);
      expect(sha256(p.values)).toBe(e.sha256);
      expect(sha256(out.pixelValues)).toBe(e.imageSha256);
    });
  }
});

describe('parsing a Qwen2-VL preprocessor_config.json', () => {
  it('fills transformers defaults', () => {
    expect(parse({})).toEqual({
      type: 'Qwen2VLImageProcessor',
      declaredType: 'Qwen2VLImageProcessor',
      source: 'p.json',
      doConvertRgb: true,
      doResize: true,
      resample: 'bicubic',
      doRescale: true,
      rescaleFactor: 1 / 255,
      doNormalize: true,
      imageMean: [0.48145466, 0.4578275, 0.40821073],
      imageStd: [0.26862954, 0.26130258, 0.27577711],
      minPixels: 3136,
      maxPixels: 1003520,
      patchSize: 14,
      temporalPatchSize: 2,
      mergeSize: 2,
    });
  });

  it('reads size {shortest_edge, longest_edge} as min/max pixels; min_pixels / max_pixels win', () => {
    const size = { shortest_edge: 1000, longest_edge: 50000 };
    expect(parse({ size })).toMatchObject({ minPixels: 1000, maxPixels: 50000 });
    expect(parse({ size, max_pixels: 60000 })).toMatchObject({ minPixels: 1000, maxPixels: 60000 });
    expect(parse({ size, min_pixels: 784 })).toMatchObject({ minPixels: 784, maxPixels: 50000 });
    // what releases before the `size` form saved
    expect(parse({ size: { min_pixels: 3136, max_pixels: 12845056 } })).toMatchObject({
      minPixels: 3136,
      maxPixels: 12845056,
    });
  });

  it('chooses the processor from the Qwen processor classes and the Fast alias', () => {
    for (const processorClass of ['Qwen2VLProcessor', 'Qwen2_5_VLProcessor']) {
      const c = parsePreprocessorConfig({ processor_class: processorClass, resample: 2 }, 'x');
      expect(c.type).toBe('Qwen2VLImageProcessor');
      expect(c.declaredType).toBe(processorClass);
      expect(asQwen2VlConfig(c).resample).toBe('bilinear');
    }
    const fast = parsePreprocessorConfig({ image_processor_type: 'Qwen2VLImageProcessorFast' }, 'x');
    expect([fast.type, fast.declaredType]).toEqual(['Qwen2VLImageProcessor', 'Qwen2VLImageProcessorFast']);
    expect(qwen2VlImageProcessor.aliases).toEqual(['Qwen2VLImageProcessorFast']);
  });

  it.each([
    [{ size: { shortest_edge: 3136 } }, /size must be an object with "shortest_edge" and "longest_edge"/],
    [{ size: 448 }, /size must be an object/],
    [
      { size: { shortest_edge: 3136, longest_edge: -1 } },
      /size.longest_edge must be a positive integer, got -1/,
    ],
    [{ min_pixels: 5000, max_pixels: 4000 }, /min_pixels must be at most max_pixels \(4000\), got 5000/],
    [{ size: { shortest_edge: 9000, longest_edge: 8000 } }, /min_pixels must be at most max_pixels \(8000\)/],
    [{ patch_size: 0 }, /patch_size must be a positive integer, got 0/],
    [{ merge_size: 1.5 }, /merge_size must be a positive integer, got 1.5/],
    [{ temporal_patch_size: '2' }, /temporal_patch_size must be a positive integer, got "2"/],
    [
      { min_pixels: 100, max_pixels: 700 },
      /max_pixels must be at least \(patch_size × merge_size\)² = 784, one merged token, got 700/,
    ],
    [{ resample: 7 }, /resample must be a PIL resampling code/],
    [{ image_std: [1, 0, 1] }, /image_std\[1\] must be a non-zero/],
  ])('refuses %j', (json, message) => {
    const error = errorOf(() => parse(json));
    expect(error.code).toBe('BAD_CONFIG');
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/^p\.json: /);
  });
});
