/**
 * A head × layer heat map of the drop when one head alone loses the image (head-knockout runs): which
 * heads carry the image where. Cells are the mean drop; the colour scale is diverging around 0 (a
 * negative drop means the answer got better without that head). Shared by the report and the app.
 */
import type { EChartsOption } from 'echarts';

import type { HeadKnockoutSummary } from '../analysis.ts';
import { sampleColormap } from './colormaps.ts';
import type { LayerTable } from './layerReadouts.ts';
import { FONT_FAMILY, FONT_SIZE, TEXT_COLOR, axisStyle, baseOption, titleOption } from './theme.ts';
import { fail } from './validate.ts';

const METRIC_NAMES = { score: 'accuracy', gold_prob: 'gold-answer probability' } as const;

/** The colour ramp (coolwarm, 9 stops) the visual map interpolates. */
const RAMP = Array.from({ length: 9 }, (_, i) => {
  const [r, g, b] = sampleColormap('coolwarm', i / 8);
  return `rgb(${r}, ${g}, ${b})`;
});

export function headKnockoutOption(summary: HeadKnockoutSummary, title?: string): EChartsOption {
  const { layers, heads, drops } = summary;
  if (layers.length === 0 || heads < 1) fail('the head-knockout summary has no cells');
  if (drops.length !== layers.length) fail('drops must have one row per layer');
  let extent = 0;
  const cells = drops.flatMap((row, i) =>
    row.map((cell, h) => {
      extent = Math.max(extent, Math.abs(cell.mean));
      return [h, i, Number.isFinite(cell.mean) ? cell.mean : null];
    }),
  );
  const bound = extent > 0 ? extent : 1;
  return {
    ...baseOption(),
    title: titleOption(
      title ?? 'Which heads carry the image: the drop when one head alone loses it',
      `${METRIC_NAMES[summary.metric]} drop (baseline ${summary.baselineMean.toFixed(3)} − masked), n = ${summary.sampleCount} questions, queries: ${summary.queries}`,
    ),
    grid: { left: 78, right: 96, top: 78, bottom: 58 },
    xAxis: {
      type: 'category',
      ...axisStyle(),
      name: 'attention head',
      nameLocation: 'middle',
      nameGap: 28,
      data: Array.from({ length: heads }, (_, h) => String(h)),
    },
    yAxis: {
      type: 'category',
      ...axisStyle(),
      name: 'decoder layer',
      nameLocation: 'middle',
      nameGap: 46,
      data: layers.map(String),
    },
    visualMap: {
      type: 'continuous',
      min: -bound,
      max: bound,
      calculable: false,
      orient: 'vertical',
      right: 12,
      top: 'middle',
      itemHeight: 180,
      text: [`+${bound.toPrecision(2)}`, `−${bound.toPrecision(2)}`],
      textStyle: { fontSize: FONT_SIZE.axisLabel, color: TEXT_COLOR, fontFamily: FONT_FAMILY },
      inRange: { color: RAMP },
    },
    series: [
      {
        type: 'heatmap',
        id: 'head-drop',
        name: 'drop',
        data: cells,
        emphasis: { disabled: true },
        label: { show: false },
      },
    ],
  } as EChartsOption;
}

/** One row per (layer, head): mean drop and its interval. */
export function headKnockoutTable(summary: HeadKnockoutSummary): LayerTable {
  return {
    columns: ['layer', 'head', 'drop', 'lower', 'upper'],
    rows: summary.drops.flatMap((row, i) =>
      row.map((cell, h) => [summary.layers[i], h, cell.mean, cell.lower, cell.upper]),
    ),
  };
}
