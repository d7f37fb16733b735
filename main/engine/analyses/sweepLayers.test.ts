import { describe, expect, it } from 'vitest';

import { layersFromSweep } from '../../common/sweepLayers.ts';
import { dropCurve, labelLayers } from '../experiments/metrics/index.ts';

/** 20 samples, 6 layers; `drops[l]` is subtracted from a baseline of 1 (tiny per-sample jitter). */
function labelsFor(drops: number[]) {
  const baseline = Array.from({ length: 20 }, () => 1);
  const masked = baseline.map((b, s) => drops.map((d) => b - d + ((s % 3) - 1) * 0.001));
  return labelLayers(dropCurve(baseline, masked));
}

describe('layersFromSweep', () => {
  it('takes the fusion layers as candidates and the first review layer', () => {
    const labels = labelsFor([0, 0.4, 0, 0, 0, 0.3, 0]);
    expect(labels.fusionLayers).toEqual([1]);
    expect(labels.reviewLayers).toEqual([5]);
    expect(layersFromSweep(labels, 7)).toEqual({ candidateLayers: [1], reviewLayer: 5 });
  });

  it('falls back to the three most damaging layers, and gives no review layer when there is none', () => {
    const labels = labelsFor([0.01, 0.03, 0.002, 0.04, 0.001, 0.02]);
    expect(labels.fusionLayers).toEqual([]);
    expect(layersFromSweep(labels, 6)).toEqual({ candidateLayers: [1, 3, 5], reviewLayer: null });
  });
});
