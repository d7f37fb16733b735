import { describe, expect, it } from 'vitest';

import { identityGeometry } from '../image/geometry.ts';
import type { ProcessedImage } from '../image/index.ts';
import { displayCells, imageTokenLayout, toDisplayMap } from './imageTokens.ts';
import { queryProjection } from './queryTokens.ts';

describe('queryProjection', () => {
  it('averages layers and heads, drops the CLS column and renormalises each query over the patches', () => {
    // 2 layers × 1 head × 2 queries × (CLS + 2 patches)
    const attention = [
      [0.5, 0.25, 0.25, 0.2, 0.8, 0],
      [0.1, 0.6, 0.3, 0, 0.5, 0.5],
    ].flat();
    const projection = queryProjection(attention, [2, 1, 2, 3], 2, 2);
    // query 0: patch sums 0.25 + 0.6, 0.25 + 0.3 → /1.4; query 1: 0.8 + 0.5, 0 + 0.5 → /1.8
    expect([...projection].map((v) => +v.toFixed(6))).toEqual(
      [0.85 / 1.4, 0.55 / 1.4, 1.3 / 1.8, 0.5 / 1.8].map((v) => +v.toFixed(6)),
    );
  });

  it('refuses a cross-attention of the wrong shape', () => {
    expect(() => queryProjection(new Float32Array(12), [1, 1, 3, 4], 2, 3)).toThrow(
      /shape \[1, 1, 3, 4\], expected \[layers, heads, 2, 4\]/,
    );
  });
});

describe('query-token layouts', () => {
  const image: ProcessedImage = {
    pixelValues: new Float32Array(3 * 4 * 4),
    channels: 3,
    height: 4,
    width: 4,
    geometry: identityGeometry(4, 4),
  };
  const spec = {
    imageTokens: { kind: 'queries' as const, count: 3, rows: 2, cols: 2, maxInstructionTokens: 512 },
  };

  it('has no rectangles of its own and draws on the patch grid', () => {
    const layout = imageTokenLayout(spec, image);
    expect(layout.count).toBe(3);
    expect(layout.rects.every((r) => r === null)).toBe(true);
    const cells = displayCells(layout);
    expect(cells.rects).toHaveLength(4);
    expect(cells.rects[3]).toEqual({ x: 2, y: 2, width: 2, height: 2 });
    expect(() => toDisplayMap(layout, [1, 0, 0])).toThrow(/cross-attention/);
  });

  it('passes each query’s attention on to the patches it read', () => {
    const projection = Float32Array.from([1, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 0, 0, 1]);
    const layout = { ...imageTokenLayout(spec, image), projection };
    expect([...toDisplayMap(layout, [0.5, 0.25, 0.25])]).toEqual([0.5, 0.125, 0.125, 0.25]);
  });
});
