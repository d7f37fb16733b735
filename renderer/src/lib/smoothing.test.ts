import { describe, expect, it } from 'vitest';

import { sampleColormap } from '../../../main/common/charts/colormaps.ts';
import {
  blurRaster,
  cellSize,
  colouriseRaster,
  gaussianKernel,
  rasteriseTokens,
  smoothedOverlay,
} from './smoothing.ts';

const cell = (x: number, y: number, size = 10) => ({ x, y, width: size, height: size });
// a 2 x 2 grid over a 20 x 20 image, plus a token without a rectangle
const rects = [null, cell(0, 0), cell(10, 0), cell(0, 10), cell(10, 10)];

describe('rasteriseTokens', () => {
  it('paints each token over the pixels whose centres its rectangle holds', () => {
    const r = rasteriseTokens([9, 1, 2, 3, 4], rects, { width: 20, height: 20 }, 4);
    expect([r.width, r.height, r.sx, r.sy]).toEqual([4, 4, 5, 5]);
    expect(Array.from(r.values)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  });

  it('leaves uncovered pixels and non-finite tokens as NaN; later tokens win overlaps', () => {
    const r = rasteriseTokens(
      [NaN, 5, 7],
      [cell(0, 0), cell(0, 0, 5), cell(0, 0, 2.5)],
      { width: 10, height: 5 },
      10,
    );
    expect(r.values[0]).toBe(7);
    expect(r.values[3]).toBe(5);
    expect(r.values[7]).toBeNaN();
  });

  it('keeps the aspect ratio and never upsamples', () => {
    const r = rasteriseTokens([1], [cell(0, 0)], { width: 300, height: 150 }, 128);
    expect([r.width, r.height]).toEqual([128, 64]);
    const small = rasteriseTokens([1], [cell(0, 0)], { width: 30, height: 15 }, 128);
    expect([small.width, small.height]).toEqual([30, 15]);
  });
});

describe('blur', () => {
  it('uses a normalised, symmetric kernel', () => {
    const k = gaussianKernel(1.5);
    expect(k.length).toBe(11);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(k[0]).toBeCloseTo(k[10], 9);
    expect(gaussianKernel(0)).toEqual(Float32Array.of(1));
  });

  it('spreads a peak, preserves a constant and leaves uncovered pixels uncovered', () => {
    const values = new Float32Array(25).fill(0);
    values[12] = 1;
    values[0] = NaN;
    const raster = { width: 5, height: 5, values, sx: 1, sy: 1 };
    const out = blurRaster(raster, 1);
    expect(out.values[12]).toBeLessThan(1);
    expect(out.values[13]).toBeGreaterThan(0);
    expect(out.values[13]).toBeCloseTo(out.values[11], 6);
    expect(out.values[0]).toBeNaN();
    const flat = blurRaster({ ...raster, values: new Float32Array(25).fill(0.3) }, 2);
    for (const v of flat.values) expect(v).toBeCloseTo(0.3, 6);
    expect(blurRaster(raster, 0)).toBe(raster);
  });

  it('measures smoothing in token cells', () => {
    const r = rasteriseTokens([0, 1, 2, 3, 4], rects, { width: 20, height: 20 }, 4);
    expect(cellSize(rects, r)).toBe(2);
  });
});

describe('colouriseRaster', () => {
  it('colours covered pixels opaque through the colormap and leaves the rest transparent', () => {
    const raster = { width: 3, height: 1, values: Float32Array.of(0, 1, NaN), sx: 1, sy: 1 };
    const rgba = colouriseRaster(raster, [0, 1], 'viridis');
    expect(Array.from(rgba.slice(0, 4))).toEqual([...sampleColormap('viridis', 0), 255]);
    expect(Array.from(rgba.slice(4, 8))).toEqual([...sampleColormap('viridis', 1), 255]);
    expect(Array.from(rgba.slice(8, 12))).toEqual([0, 0, 0, 0]);
  });

  it('centres a diverging map at 0 after smoothing too', () => {
    const out = smoothedOverlay(
      [0, -1, 1, 1, -1],
      rects,
      { width: 20, height: 20 },
      0,
      [-1, 1],
      'coolwarm',
      4,
    );
    expect(Array.from(out.rgba.slice(0, 3))).toEqual([...sampleColormap('coolwarm', 0)]);
    expect(out.width).toBe(4);
  });
});
