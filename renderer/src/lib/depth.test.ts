import { describe, expect, it } from 'vitest';

import { alignToDepth, depthStops, layerDepth, nearestLayer } from './depth.ts';

describe('depth alignment', () => {
  it('maps a layer to layer / (L − 1)', () => {
    expect(layerDepth(0, 8)).toBe(0);
    expect(layerDepth(7, 8)).toBe(1);
    expect(layerDepth(0, 1)).toBe(0);
  });

  it('finds the nearest layer, ties going deeper, ends clamped', () => {
    expect(nearestLayer(0, 8)).toBe(0);
    expect(nearestLayer(1, 8)).toBe(7);
    expect(nearestLayer(0.5, 8)).toBe(4); // 3.5 → 4
    expect(nearestLayer(0.5, 32)).toBe(16); // 15.5 → 16
    expect(nearestLayer(0.49, 32)).toBe(15);
    expect(nearestLayer(-0.3, 8)).toBe(0);
    expect(nearestLayer(7, 8)).toBe(7);
    expect(nearestLayer(NaN, 8)).toBe(0);
    expect(nearestLayer(0.9, 1)).toBe(0);
    expect(() => nearestLayer(0.5, 0)).toThrow(/positive integer/);
  });

  it('round-trips every layer through its depth', () => {
    for (const L of [1, 2, 8, 28, 32, 80]) {
      for (let l = 0; l < L; l++) expect(nearestLayer(layerDepth(l, L), L)).toBe(l);
    }
  });

  it('aligns models of different depths to one slider position', () => {
    const aligned = alignToDepth(29 / 31, [
      { id: 'llava', layers: 32 },
      { id: 'qwen', layers: 28 },
      { id: 'demo', layers: 8 },
    ]);
    expect(aligned.map((a) => a.layer)).toEqual([29, 25, 7]);
    expect(aligned[0].offset).toBeCloseTo(0, 12);
    expect(aligned[2].depth).toBe(1);
    expect(aligned[2].offset).toBeCloseTo(2 / 31, 12);
  });

  it('lists the depths where some model has a layer', () => {
    expect(
      depthStops([
        { id: 'a', layers: 3 },
        { id: 'b', layers: 5 },
      ]),
    ).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });
});
