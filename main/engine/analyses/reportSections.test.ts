/**
 * The report sections' pure parts: which samples are drawn, how they are titled, the sweep's band,
 * the layers the image lens draws its grids at.
 */
import { describe, expect, it } from 'vitest';

import type { LayerStat, SweepSummary } from '../../common/analysis.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { gridLayers } from './imageLensReport.ts';
import { acrossFamilies, answerText, sampleTitle } from './reportSamples.ts';
import { sweepCurve } from './sweepReport.ts';

function item(id: string, family: string, boxes = 0): DatasetItem {
  return {
    id,
    imagePath: `/x/${id}.png`,
    question: `question ${id}?`,
    answers: [`gold ${id}`],
    family,
    subtype: null,
    boxes: Array.from({ length: boxes }, () => [0, 0, 4, 4] as const),
    metric: 'exact',
  };
}

describe('acrossFamilies', () => {
  const items = [
    item('c1', 'count', 3),
    item('c2', 'count', 4),
    item('k1', 'color'),
    item('k2', 'color', 1),
    item('s1', 'shape', 1),
  ];

  it('takes one item per family first, in the order families appear, items with a box first', () => {
    expect(acrossFamilies(items, 3).map((i) => i.id)).toEqual(['c1', 'k2', 's1']);
  });

  it('then a second of each family, and stops when the items run out', () => {
    expect(acrossFamilies(items, 4).map((i) => i.id)).toEqual(['c1', 'k2', 's1', 'c2']);
    expect(acrossFamilies(items, 10).map((i) => i.id)).toEqual(['c1', 'k2', 's1', 'c2', 'k1']);
    expect(acrossFamilies([], 3)).toEqual([]);
  });
});

describe('sample titles', () => {
  it('say the question, the gold answer and the model’s, marked right or wrong', () => {
    const title = sampleTitle(item('k2', 'color', 1), { answer: 'red', score: 0 });
    expect(title).toBe('question k2? \u2014 gold: gold k2 \u00b7 model: red \u2717');
    expect(sampleTitle(item('k2', 'color'), undefined)).toBe('question k2? \u2014 gold: gold k2');
    expect(answerText('  ', 1)).toBe('(empty) \u2713');
    expect(answerText('a very long answer indeed', 0.3, 8)).toBe('a very \u2026');
  });
});

describe('sweepCurve', () => {
  const stat = (layer: number, mean: number, half: number): LayerStat => ({
    layer,
    depth: layer / 2,
    n: 10,
    mean,
    lower: mean - half,
    upper: mean + half,
  });
  const summary = {
    baselineMean: 0.8,
    // Unpaired, the masked score's interval at layer 1 reaches the baseline…
    masked: [stat(0, 0.4, 0.1), stat(1, 0.7, 0.12), stat(2, 0.8, 0.05)],
    // …while the paired drop there is clearly above 0.
    drops: [stat(0, 0.4, 0.05), stat(1, 0.1, 0.03), stat(2, 0, 0.01)],
  } as unknown as SweepSummary;

  it('draws the band from the paired drop: baseline − drop, so it clears the baseline where the drop does', () => {
    const curve = sweepCurve(summary);
    expect(curve.paired).toBe(true);
    curve.mean.forEach((v, i) => expect(v).toBeCloseTo([0.4, 0.7, 0.8][i], 12));
    expect(curve.upper[1]).toBeCloseTo(0.8 - 0.07, 12);
    expect(curve.lower[1]).toBeCloseTo(0.8 - 0.13, 12);
    expect(curve.upper[1]).toBeLessThan(summary.baselineMean);
    expect(summary.masked[1].upper).toBeGreaterThan(summary.baselineMean);
  });

  it('falls back to the masked score’s interval for a summary without drops', () => {
    const old = { ...summary, drops: undefined } as unknown as SweepSummary;
    const curve = sweepCurve(old);
    expect(curve.paired).toBe(false);
    expect(curve.upper).toEqual(summary.masked.map((s) => s.upper));
  });
});

describe('gridLayers', () => {
  it('draws the first, last and evenly spread recorded layers, and the fusion layers among them', () => {
    expect(gridLayers([0, 1, 2, 3, 4, 5, 6, 7, 8])).toEqual([0, 3, 5, 8]);
    expect(gridLayers([0, 1, 2, 3, 4, 5, 6, 7, 8], [1, 12])).toEqual([0, 1, 3, 5, 8]);
    // A subset run: only layers it recorded, however few.
    expect(gridLayers([2, 5, 9], [5, 6])).toEqual([2, 5, 9]);
    expect(gridLayers([])).toEqual([]);
  });
});
