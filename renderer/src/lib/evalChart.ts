/**
 * An evaluation's accuracy per question family as horizontal bars (overall as a dashed line), in the
 * shared figure theme of main/common/charts, plus the same numbers as a table for CSV/JSON export.
 */
import type { EChartsOption } from 'echarts';

import type { EvalSummary } from '../../../main/common/analysis.ts';
import {
  FONT_FAMILY,
  FONT_SIZE,
  GUIDE_COLOR,
  PALETTE,
  axisStyle,
  baseOption,
  titleOption,
} from '../../../main/common/charts/theme.ts';
import type { TableData } from './tableData.ts';

export function familyRows(summary: EvalSummary): [string, { mean: number; n: number }][] {
  return Object.entries(summary.byFamily).sort((a, b) => a[0].localeCompare(b[0]));
}

export function evalFamiliesOption(summary: EvalSummary, title?: string): EChartsOption {
  const rows = familyRows(summary);
  // Categories run bottom-up on a category y axis: reverse so the list reads top-down alphabetically.
  const names = rows.map(([name]) => name).reverse();
  const values = rows.map(([, stat]) => Number((100 * stat.mean).toFixed(1))).reverse();
  const counts = rows.map(([, stat]) => stat.n).reverse();
  return {
    ...baseOption(),
    title: titleOption(title, undefined),
    grid: { left: 8, right: 104, top: title ? 52 : 24, bottom: 36, containLabel: true },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    xAxis: {
      type: 'value',
      min: 0,
      max: 100,
      name: 'accuracy (%)',
      nameLocation: 'middle',
      nameGap: 24,
      ...axisStyle(),
    },
    yAxis: { type: 'category', data: names, ...axisStyle(), splitLine: { show: false } },
    series: [
      {
        type: 'bar',
        name: 'accuracy',
        data: values,
        barMaxWidth: 18,
        itemStyle: { color: PALETTE[0] },
        label: {
          show: true,
          position: 'right',
          fontFamily: FONT_FAMILY,
          fontSize: FONT_SIZE.note,
          formatter: (p: { dataIndex: number; value: unknown }) => `${p.value}%  n=${counts[p.dataIndex]}`,
        },
        markLine: {
          silent: true,
          symbol: 'none',
          lineStyle: { type: 'dashed', color: GUIDE_COLOR },
          label: { formatter: 'overall {c}%', fontFamily: FONT_FAMILY, fontSize: FONT_SIZE.note },
          data: [{ xAxis: Number((100 * summary.overall).toFixed(1)) }],
        },
      },
    ],
  };
}

export function evalFamiliesTable(summary: EvalSummary): TableData {
  return {
    columns: ['family', 'n', 'accuracy'],
    rows: [
      ...familyRows(summary).map(([name, s]) => [name, s.n, s.mean]),
      ['overall', summary.sampleCount, summary.overall],
    ],
  };
}
