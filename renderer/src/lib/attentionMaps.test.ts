import { describe, expect, it } from 'vitest';

import {
  layerMap,
  layerRange,
  matrixOf,
  renormalise,
  stripLayers,
  tensor3Of,
  vectorOf,
} from './attentionMaps.ts';

const rects = [null, { x: 0, y: 0, width: 1, height: 1 }, { x: 1, y: 0, width: 1, height: 1 }];

describe('stored arrays', () => {
  it('recognise vectors, matrices and 3-d arrays', () => {
    expect(vectorOf([1, 2])).toEqual([1, 2]);
    expect(vectorOf([[1]])).toBeNull();
    expect(matrixOf([[1], [2]])).toEqual([[1], [2]]);
    expect(matrixOf([1, 2])).toBeNull();
    expect(matrixOf(undefined)).toBeNull();
    expect(tensor3Of([[[1, 2]], [[3, 4]]])).toEqual([[[1, 2]], [[3, 4]]]);
    expect(tensor3Of([[1, 2]])).toBeNull();
  });
});

describe('layerMap', () => {
  const maps = [
    [0.2, 0.3, 0.5],
    [0.1, 0.1, 0.8],
  ];
  const perHead = [
    [
      [1, 1, 2],
      [0, 0, 0],
    ],
    [
      [0.5, 0.25, 0.25],
      [2, 0, 2],
    ],
  ];

  it('gives the stored head mean, or one head renormalised to a distribution', () => {
    expect(layerMap(maps, perHead, 1, 'mean')).toEqual([0.1, 0.1, 0.8]);
    expect(layerMap(maps, perHead, 0, 0)).toEqual([0.25, 0.25, 0.5]);
    expect(layerMap(maps, perHead, 1, 1)).toEqual([0.5, 0, 0.5]);
    expect(layerMap(maps, perHead, 0, 1)).toEqual([0, 0, 0]);
    expect(layerMap(maps, null, 0, 1)).toEqual([0.2, 0.3, 0.5]);
    expect(() => layerMap(maps, perHead, 0, 5)).toThrow(/head 5/);
  });

  it('renormalises ignoring non-finite values', () => {
    expect(renormalise([1, NaN, 3])).toEqual([0.25, NaN, 0.75]);
  });
});

describe('layerRange', () => {
  const all = [
    [9, 0.1, 0.2],
    [-9, 0.4, 0.3],
  ];
  it('scales each layer on its own or every layer on one range, over drawn tokens only', () => {
    expect(layerRange(all, 0, 'layer', rects, 'viridis')).toEqual([0.1, 0.2]);
    expect(layerRange(all, 1, 'layer', rects, 'viridis')).toEqual([0.3, 0.4]);
    expect(layerRange(all, 0, 'shared', rects, 'viridis')).toEqual([0.1, 0.4]);
    expect(layerRange(all, 0, 'shared', rects, 'coolwarm')).toEqual([-0.4, 0.4]);
  });
});

describe('stripLayers', () => {
  it('shows every layer of a small model', () => {
    expect(stripLayers(8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('spreads layers over a deep model and keeps the marked ones', () => {
    const layers = stripLayers(32, [2, 4, 29], 16);
    expect(layers).toContain(0);
    expect(layers).toContain(31);
    for (const l of [2, 4, 29]) expect(layers).toContain(l);
    expect(layers.length).toBeLessThanOrEqual(16);
    expect([...layers].sort((a, b) => a - b)).toEqual(layers);
  });
});
