import { describe, expect, it } from 'vitest';

import type { ImageLensSummary, LayerStat } from '../analysis.ts';
import { sampleColormap } from './colormaps.ts';
import {
  imageLensOption,
  imageLensTable,
  lensCellText,
  lensGridOption,
  lensGridSize,
  lensTextColor,
  type LensGridInput,
} from './imageLens.ts';
import { seriesOf } from './testing.ts';

const stats = (layers: readonly number[], means: readonly number[]): LayerStat[] =>
  means.map((mean, i) => ({
    layer: layers[i],
    depth: layers[i] / 7,
    n: 3,
    mean,
    lower: mean - 0.1,
    upper: mean + 0.1,
  }));

describe('image-lens curves', () => {
  const summary: ImageLensSummary = {
    runId: 4,
    sampleCount: 3,
    topK: 7,
    curves: {
      patch_top1_prob: stats([0, 4, 7], [0.2, 0.3, 0.4]),
      patch_gold_topk: stats([0, 4, 7], [0.1, 0.2, 0.5]),
    },
  };

  it('draws one panel per stored metric at the recorded layers, naming top k', () => {
    const option = imageLensOption(summary)!;
    const lines = seriesOf(option).filter((s) => !s.id?.includes('::ci'));
    expect(lines.map((s) => s.name)).toEqual(['mean top-1 prob.', 'share gold top-7']);
    expect(lines[1].data).toEqual([
      [0, 0.1],
      [4, 0.2],
      [7, 0.5],
    ]);
    expect(JSON.stringify(option.title)).toContain('3 samples');
    expect(imageLensOption({ ...summary, curves: {} })).toBeNull();
  });

  it('tabulates each metric’s mean and interval per recorded layer', () => {
    const table = imageLensTable(summary);
    expect(table.columns).toEqual([
      'layer',
      'patch_top1_prob',
      'patch_top1_prob_lower',
      'patch_top1_prob_upper',
      'patch_gold_topk',
      'patch_gold_topk_lower',
      'patch_gold_topk_upper',
    ]);
    expect(table.rows[1]).toEqual([4, 0.3, 0.3 - 0.1, 0.3 + 0.1, 0.2, 0.2 - 0.1, 0.2 + 0.1]);
  });
});

describe('lensCellText', () => {
  it('makes whitespace and control characters visible and cuts long tokens', () => {
    expect(lensCellText(' cat')).toBe('\u00b7cat');
    expect(lensCellText(' ')).toBe('\u2423');
    expect(lensCellText('a b')).toBe('a\u2423b');
    expect(lensCellText('\n')).toBe('\u23ce');
    expect(lensCellText('\u0012')).toBe('\u2412');
    expect(lensCellText('')).toBe('\u2205');
    expect(lensCellText('triangle')).toBe('tria\u2026');
    expect(lensCellText('triangle', 8)).toBe('triangle');
    expect(lensCellText('日本語です', 3)).toBe('日本\u2026');
  });

  it('picks dark text on light cells and white on dark ones', () => {
    expect(lensTextColor(sampleColormap('viridis', 1))).not.toBe('#ffffff');
    expect(lensTextColor(sampleColormap('viridis', 0))).toBe('#ffffff');
  });
});

describe('lensGridOption', () => {
  const panel = (label: string, probs: readonly (number | null)[]) => ({
    label,
    rows: 2,
    cols: 3,
    cells: probs.map((prob, i) => (prob === null ? null : { text: `w${i}`, prob, gold: i === 4 })),
  });
  const input: LensGridInput = {
    title: 'a sample',
    subtitle: 'what is drawn',
    panels: [panel('layer 0', [0.1, 0.2, 0.3, 0.4, 0.5, null]), panel('layer 7', [1, 0, 0, 0, 0, 0])],
  };

  it('draws each panel as a heat map on the token grid, row 0 at the top, labelled with the tokens', () => {
    const option = lensGridOption(input);
    const series = seriesOf(option) as unknown as {
      type: string;
      xAxisIndex: number;
      data: { name: string; value: number[]; itemStyle?: { borderColor: string } }[];
    }[];
    expect(series.map((s) => [s.type, s.xAxisIndex])).toEqual([
      ['heatmap', 0],
      ['heatmap', 1],
    ]);
    // The cell without a token is left out; the others sit at [col, row] with their probability.
    expect(series[0].data.map((d) => d.value)).toEqual([
      [0, 0, 0.1],
      [1, 0, 0.2],
      [2, 0, 0.3],
      [0, 1, 0.4],
      [1, 1, 0.5],
    ]);
    expect(series[0].data.map((d) => d.name)).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
    expect(series[0].data[4].itemStyle?.borderColor).toBe('#ffffff');
    expect(series[0].data[3].itemStyle).toBeUndefined();
    expect(option.yAxis).toMatchObject([{ inverse: true }, { inverse: true }]);
    // One fixed 0–1 colour scale across the panels.
    expect(option.visualMap).toMatchObject({ min: 0, max: 1, seriesIndex: [0, 1] });
    expect(JSON.stringify(option.xAxis)).toContain('layer 7');
  });

  it('sizes the figure for its panels, side by side, and refuses malformed grids', () => {
    const one = lensGridSize({ ...input, panels: input.panels.slice(0, 1) });
    const two = lensGridSize(input);
    expect(two.height).toBe(one.height);
    expect(two.width).toBeGreaterThan(one.width + 3 * 30);
    expect(() => lensGridOption({ panels: [] })).toThrow(/at least one panel/);
    expect(() => lensGridOption({ panels: [{ ...input.panels[0], cells: [] }] })).toThrow(
      /panels\[0\]\.cells must have rows × cols = 6 entries/,
    );
  });
});
