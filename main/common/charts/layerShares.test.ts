import { describe, expect, it } from 'vitest';

import type { AttentionShareSummary, LayerStat, LogitLensSummary } from '../analysis.ts';
import {
  attentionShareOption,
  attentionShareTable,
  logitLensOption,
  logitLensTable,
} from './layerReadouts.ts';
import { layerSharesOption } from './layerShares.ts';
import { seriesById, seriesOf } from './testing.ts';

const layers = [0, 1, 2, 3, 4, 5];
const stats = (means: readonly number[]): LayerStat[] =>
  means.map((mean, layer) => ({
    layer,
    depth: layer / 5,
    n: 4,
    mean,
    lower: mean - 0.01,
    upper: mean + 0.01,
  }));

describe('layerSharesOption', () => {
  const option = layerSharesOption({
    layers,
    parts: [
      { name: 'image', mean: [0.5, 0.2, 0.005, 0.004, 0.1, 0.3] },
      { name: 'rest', mean: [0.5, 0.8, 0.995, 0.996, 0.9, 0.7] },
    ],
    flaggedLayers: [2, 3],
    flaggedLabel: 'image < 0.01',
    fusionLayers: [1],
  });

  it('stacks one area per part on a fixed 0–1 axis', () => {
    const series = seriesOf(option);
    expect(series.map((s) => s.stack)).toEqual(['shares', 'shares']);
    expect(series.every((s) => s.areaStyle)).toBe(true);
    expect(option.yAxis).toMatchObject({ min: 0, max: 1 });
    expect(seriesById(option, 'image::share').data[2]).toEqual([2, 0.005]);
  });

  it('shades the flagged layers as one run and guides the fusion layers, once', () => {
    const first = seriesById(option, 'image::share');
    expect(first.markArea!.data).toHaveLength(1);
    const [[start, end]] = first.markArea!.data;
    expect([start.xAxis, end.xAxis]).toEqual([1.5, 3.5]);
    expect(start.name).toBe('image < 0.01');
    expect(first.markLine!.data.map((d) => d.xAxis)).toEqual([1]);
    expect(seriesById(option, 'rest::share').markArea).toBeUndefined();
  });

  it('refuses parts of the wrong length and flagged layers it does not have', () => {
    expect(() => layerSharesOption({ layers, parts: [{ name: 'a', mean: [1] }] })).toThrow(
      /parts\[0\]\.mean/,
    );
    expect(() =>
      layerSharesOption({ layers, parts: [{ name: 'a', mean: layers }], flaggedLayers: [9] }),
    ).toThrow(/layer 9/);
  });
});

describe('the per-layer read-outs as charts and tables', () => {
  it('draws the logit lens as one panel per stored metric and tabulates its intervals', () => {
    const summary: LogitLensSummary = {
      runId: 1,
      sampleCount: 4,
      layerCount: 6,
      curves: {
        gold_prob: stats([0, 0, 0.1, 0.3, 0.6, 0.9]),
        top1_prob: stats([0.1, 0.1, 0.2, 0.4, 0.6, 0.9]),
      },
      firstTop1: { mean: 3.5, reached: 2, of: 4 },
    };
    const option = logitLensOption(summary, { fusionLayers: [2, 9] })!;
    expect(option.grid).toHaveLength(2);
    expect(seriesById(option, 'gold probability::mean').markLine!.data.map((d) => d.xAxis)).toEqual([2]);
    expect((option.title as { subtext: string }).subtext).toContain('layer 3.5 on average (2 of 4 samples)');
    const table = logitLensTable(summary);
    expect(table.columns).toEqual([
      'layer',
      'gold_prob',
      'gold_prob_lower',
      'gold_prob_upper',
      'top1_prob',
      'top1_prob_lower',
      'top1_prob_upper',
    ]);
    expect(table.rows[5]).toEqual([5, 0.9, 0.9 - 0.01, 0.9 + 0.01, 0.9, 0.9 - 0.01, 0.9 + 0.01]);
    expect(logitLensOption({ ...summary, curves: {} })).toBeNull();
  });

  it('stacks the four attention shares and shades the flagged layers', () => {
    const summary: AttentionShareSummary = {
      runId: 2,
      sampleCount: 4,
      layerCount: 6,
      threshold: 0.01,
      shares: {
        image: stats([0.3, 0.005, 0.2, 0.2, 0.1, 0.1]),
        prefix: stats([0.3, 0.9, 0.5, 0.5, 0.6, 0.6]),
        text: stats([0.2, 0.05, 0.2, 0.2, 0.2, 0.2]),
        self: stats([0.2, 0.045, 0.1, 0.1, 0.1, 0.1]),
      },
      flaggedLayers: [1],
      flaggedFraction: [0, 1, 0, 0.25, 0, 0],
    };
    const option = attentionShareOption(summary)!;
    expect(seriesOf(option).map((s) => s.name)).toEqual([
      'image',
      'prefix (BOS, system)',
      'text after the image',
      'itself',
    ]);
    expect(seriesById(option, 'image::share').markArea!.data).toHaveLength(1);
    const table = attentionShareTable(summary);
    expect(table.columns.slice(-2)).toEqual(['flagged_fraction', 'flagged']);
    expect(table.rows[1].slice(-2)).toEqual([1, 1]);
    expect(table.rows[3].slice(-2)).toEqual([0.25, 0]);
  });
});
