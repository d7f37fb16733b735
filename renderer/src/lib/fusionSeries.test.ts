import { describe, expect, it } from 'vitest';

import type { SweepSummary } from '../../../main/common/analysis.ts';
import { fusionCurveOption } from '../../../main/common/charts/index.ts';
import {
  EMPTY_LABEL_DRAFT,
  chooseAxis,
  curveSeries,
  inferLayerCount,
  labelParams,
  layerAt,
} from './fusionSeries.ts';

function summary(layers: number, fusion: number[] = [1], review: number[] = []): SweepSummary {
  const masked = Array.from({ length: layers }, (_, l) => ({
    layer: l,
    depth: l / (layers - 1),
    n: 10,
    mean: 0.5,
    lower: 0.4,
    upper: 0.6,
  }));
  return {
    runId: 1,
    metric: 'score',
    sampleCount: 10,
    layerCount: layers,
    baselineMean: 0.8,
    mode: 'knockout',
    masked,
    drops: masked.map((m) => ({ ...m, mean: 0.3, lower: 0.25, upper: 0.35 })),
    labels: {
      params: {
        criterion: 'drop',
        correction: 'none',
        scale: 'relative',
        minDrop: 0.05,
        plateauDrop: 0.02,
        plateauLength: 2,
        minReviewDrop: 0.05,
        minSamples: 5,
      },
      plateauStart: 3,
      plateauStartDepth: 3 / (layers - 1),
      fusionLayers: fusion,
      reviewLayers: review,
      layers: [],
      summary: [],
      warnings: [],
    },
  };
}

describe('fusion curve series', () => {
  it('carry the summary into a series the chart builder accepts', () => {
    const s = curveSeries({ name: 'demo', summary: summary(8, [1, 2], [6]) });
    expect(s.numLayers).toBe(8);
    expect(s.depth?.[7]).toBe(1);
    expect(s.fusionLayers).toEqual([1, 2]);
    // The band is the paired drop's interval around the masked mean: 0.8 − [0.35, 0.25].
    expect(s.lower[0]).toBeCloseTo(0.45, 12);
    expect(s.upper[0]).toBeCloseTo(0.55, 12);
    expect(() => fusionCurveOption({ metricLabel: 'x', xAxis: 'layer', series: [s] })).not.toThrow();
  });

  it('infer the layer count from depths (a window shortens the curve)', () => {
    const s = summary(8);
    const windowed = { ...s, masked: s.masked.slice(0, 6) };
    expect(inferLayerCount(windowed)).toBe(8);
  });

  it('overlay on normalised depth only when the models differ in depth', () => {
    expect(
      chooseAxis([
        { name: 'a', summary: summary(8) },
        { name: 'b', summary: summary(8) },
      ]),
    ).toBe('layer');
    expect(
      chooseAxis([
        { name: 'a', summary: summary(8) },
        { name: 'b', summary: summary(32) },
      ]),
    ).toBe('depth');
  });

  it('map a click to the nearest layer of the curve', () => {
    expect(layerAt(summary(8), 'layer', 3.2)).toBe(3);
    expect(layerAt(summary(8), 'depth', 0.95)).toBe(7);
  });
});

describe('label rule form', () => {
  it('keeps empty fields at the defaults', () => {
    expect(labelParams(EMPTY_LABEL_DRAFT)).toEqual({ params: {} });
  });

  it('reads numbers, a plateau count or fraction, and names bad text', () => {
    expect(
      labelParams({
        ...EMPTY_LABEL_DRAFT,
        scale: 'absolute',
        minDrop: '0.1',
        plateauLength: '0.25',
        minSamples: '3',
      }),
    ).toEqual({
      params: { scale: 'absolute', minDrop: 0.1, plateauLength: { fraction: 0.25 }, minSamples: 3 },
    });
    expect(labelParams({ ...EMPTY_LABEL_DRAFT, plateauLength: '4' })).toEqual({
      params: { plateauLength: 4 },
    });
    expect(labelParams({ ...EMPTY_LABEL_DRAFT, plateauLength: '2.5' })).toEqual({
      error: expect.stringMatching(/"2.5"/),
    });
    expect(labelParams({ ...EMPTY_LABEL_DRAFT, minDrop: 'x' })).toEqual({
      error: expect.stringMatching(/minDrop/),
    });
    expect(labelParams({ ...EMPTY_LABEL_DRAFT, minSamples: '0' })).toEqual({
      error: expect.stringMatching(/minSamples/),
    });
  });
});
