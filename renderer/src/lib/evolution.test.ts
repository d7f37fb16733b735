import { describe, expect, it } from 'vitest';

import { evolutionCurvesOption } from '../../../main/common/charts/index.ts';
import { runCurves, sampleCurves } from './evolution.ts';

describe('evolution curves', () => {
  it('orders one sample’s metrics as the paper does and names them for the chart', () => {
    const set = sampleCurves([
      { layer: 1, name: 'hellinger_to_final', value: 0 },
      { layer: 0, name: 'hellinger_to_final', value: 0.4 },
      { layer: 0, name: 'entropy', value: 0.9 },
      { layer: 1, name: 'entropy', value: 0.8 },
      { layer: 1, name: 'box_mass', value: 0.6 },
    ]);
    expect(set.layers).toEqual([0, 1]);
    expect(set.series.map((s) => s.name)).toEqual(['box mass', 'normalised entropy', 'Hellinger to final']);
    expect(set.series[0].mean[0]).toBeNaN();
    expect(set.series[2].mean).toEqual([0.4, 0]);
    expect(() => evolutionCurvesOption({ ...set, cursorLayer: 1 })).not.toThrow();
  });

  it('carries a run’s intervals as bands', () => {
    const stat = (layer: number, mean: number) => ({
      layer,
      depth: layer,
      n: 3,
      mean,
      lower: mean - 0.25,
      upper: mean + 0.25,
    });
    const set = runCurves({ runId: 1, sampleCount: 3, curves: { entropy: [stat(0, 0.75), stat(1, 0.5)] } });
    expect(set.series).toEqual([
      { name: 'normalised entropy', mean: [0.75, 0.5], lower: [0.5, 0.25], upper: [1, 0.75] },
    ]);
  });
});
