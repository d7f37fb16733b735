import { describe, expect, it } from 'vitest';

import { evalFamiliesOption, evalFamiliesTable } from './evalChart.ts';

const summary = {
  runId: 1,
  sampleCount: 10,
  overall: 0.7,
  byFamily: { shape: { mean: 0.5, n: 4 }, color: { mean: 1, n: 6 } },
  pope: null,
};

describe('evalFamiliesOption', () => {
  it('lists families top-down alphabetically with percentages', () => {
    const option = evalFamiliesOption(summary) as {
      yAxis: { data: string[] };
      series: { data: number[] }[];
    };
    expect(option.yAxis.data).toEqual(['shape', 'color']);
    expect(option.series[0].data).toEqual([50, 100]);
  });

  it('exports the numbers with the overall row last', () => {
    expect(evalFamiliesTable(summary).rows).toEqual([
      ['color', 6, 1],
      ['shape', 4, 0.5],
      ['overall', 10, 0.7],
    ]);
  });
});
