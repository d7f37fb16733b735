/**
 * Layer-wise masking curve(s): per-layer masked score with its 95% interval as a band, the unmasked
 * baseline dashed, fusion layers as diamonds and the review phase shaded and labelled. Several models
 * overlay on normalised depth. Plain data in, a serialisable ECharts option out (no functions).
 */
import type { EChartsOption } from 'echarts';
import {
  resolveCurve,
  type FusionCurveSeries,
  type FusionXAxis,
  type ResolvedCurve,
} from './fusionCurveData.ts';
import { layerExtent, niceExtent } from './ticks.ts';
import {
  FONT_FAMILY,
  FONT_SIZE,
  TEXT_COLOR,
  axisStyle,
  baseOption,
  seriesColor,
  titleOption,
  withAlpha,
} from './theme.ts';
import { fail, finiteOrNull } from './validate.ts';

export type { FusionCurveSeries, FusionXAxis } from './fusionCurveData.ts';

export interface FusionCurveInput {
  title?: string;
  /** Line(s) under the title ('\n' breaks); default explains band, diamonds and dashed line; '' for none. */
  subtitle?: string;
  metricLabel: string;
  series: readonly FusionCurveSeries[];
  xAxis: FusionXAxis;
  /** An x value (layer or depth, as the axis) the app marks with a solid guide: the selected layer. */
  cursor?: { x: number; label: string };
  /**
   * Number each fusion diamond with its layer. Default: only when there is one series (several models
   * on depth would crowd); a report comparing two masking modes of one model asks for it.
   */
  fusionLabels?: boolean;
}

export const FUSION_CURVE_NOTE = 'band: 95% CI   \u25c6 fusion layer   dashed: unmasked baseline';

/** Series ids, stable so tests and the app can find the parts of one model's curve. */
export const fusionSeriesId = {
  bandBase: (model: string) => `${model}::ci-lower`,
  bandFill: (model: string) => `${model}::ci`,
  mean: (model: string) => `${model}::mean`,
  fusion: (model: string) => `${model}::fusion`,
};

function bandSeries(curve: ResolvedCurve, color: string, index: number): Record<string, unknown>[] {
  const common = {
    type: 'line',
    name: `${curve.model} 95% CI`,
    stack: `ci-${index}`,
    stackStrategy: 'all',
    symbol: 'none',
    silent: true,
    z: 1,
    lineStyle: { opacity: 0 },
    tooltip: { show: false },
    emphasis: { disabled: true },
  };
  const ok = (i: number) => Number.isFinite(curve.lower[i]) && Number.isFinite(curve.upper[i]);
  return [
    {
      ...common,
      id: fusionSeriesId.bandBase(curve.model),
      data: curve.x.map((x, i) => [x, ok(i) ? curve.lower[i] : null]),
    },
    {
      ...common,
      id: fusionSeriesId.bandFill(curve.model),
      areaStyle: { color, opacity: 0.18 },
      data: curve.x.map((x, i) => [x, ok(i) ? curve.upper[i] - curve.lower[i] : null]),
    },
  ];
}

function markLines(
  curve: ResolvedCurve,
  color: string,
  index: number,
  labelled: boolean,
  cursor?: FusionCurveInput['cursor'],
): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  if (cursor) {
    lines.push({
      xAxis: cursor.x,
      name: 'cursor',
      lineStyle: { type: 'solid', color: TEXT_COLOR, width: 1.5 },
      label: {
        formatter: cursor.label,
        position: 'insideEndTop',
        color: TEXT_COLOR,
        fontSize: FONT_SIZE.note,
      },
    });
  }
  const suffix = labelled ? ` (${curve.model})` : '';
  if (curve.baseline !== undefined) {
    lines.push({
      yAxis: curve.baseline,
      name: 'baseline',
      lineStyle: { type: 'dashed', color, width: 1.5 },
      label: {
        formatter: curve.baselineLabel ?? `baseline${suffix}`,
        // Models' baselines often lie close (0.86, 0.90): the second's label under its line, as its
        // fusion numbers are above, so the two do not print over each other.
        position: index % 2 === 0 ? 'insideEndTop' : 'insideEndBottom',
        color,
        fontSize: FONT_SIZE.note,
      },
    });
  }
  if (curve.plateauX !== undefined) {
    lines.push({
      xAxis: curve.plateauX,
      name: 'plateau',
      lineStyle: { type: 'dotted', color, width: 1.5 },
      label: { formatter: 'plateau', position: 'insideEndBottom', color, fontSize: FONT_SIZE.note },
    });
  }
  return lines;
}

function meanSeries(
  curve: ResolvedCurve,
  color: string,
  index: number,
  multi: boolean,
  cursor?: FusionCurveInput['cursor'],
): Record<string, unknown> {
  return {
    type: 'line',
    id: fusionSeriesId.mean(curve.model),
    name: curve.model,
    z: 3,
    color,
    symbol: 'circle',
    symbolSize: 4,
    lineStyle: { width: 2, color },
    itemStyle: { color },
    emphasis: { disabled: true },
    data: curve.x.map((x, i) => [x, finiteOrNull(curve.mean[i])]),
    markLine: {
      silent: true,
      symbol: ['none', 'none'],
      precision: 6,
      data: markLines(curve, color, index, multi, cursor),
    },
    markArea: {
      silent: true,
      itemStyle: { color: withAlpha(color, 0.12) },
      label: {
        show: true,
        position: 'insideTop',
        distance: 6 + index * (FONT_SIZE.note + 4),
        color,
        fontSize: FONT_SIZE.note,
        fontFamily: FONT_FAMILY,
      },
      data: curve.reviewRuns.map(([start, end]) => [{ name: 'review', xAxis: start }, { xAxis: end }]),
    },
  };
}

function fusionSeries(
  curve: ResolvedCurve,
  color: string,
  index: number,
  labels: boolean,
  multi: boolean,
): Record<string, unknown> {
  return {
    type: 'scatter',
    id: fusionSeriesId.fusion(curve.model),
    name: curve.model,
    z: 4,
    symbol: 'diamond',
    symbolSize: 11,
    itemStyle: { color, borderColor: '#000000', borderWidth: 1 },
    emphasis: { disabled: true },
    data: curve.fusion.map((p) => ({
      value: [p.x, finiteOrNull(p.y)],
      name: `layer ${p.layer}`,
      label: {
        show: labels,
        formatter: String(p.layer),
        // Two labelled series: the second's numbers above its diamonds, so they do not collide.
        position: index % 2 === 0 ? 'bottom' : 'top',
        distance: 4,
        color: multi ? color : TEXT_COLOR,
        fontSize: FONT_SIZE.note,
      },
    })),
  };
}

export function fusionCurveOption(input: FusionCurveInput): EChartsOption {
  if (typeof input !== 'object' || input === null) fail('fusion curve input must be an object');
  if (input.xAxis !== 'layer' && input.xAxis !== 'depth') {
    fail(`xAxis must be 'layer' or 'depth', got ${JSON.stringify(input.xAxis)}`);
  }
  if (!Array.isArray(input.series) || input.series.length === 0) fail('series must list at least one model');
  const curves = input.series.map((s, i) => resolveCurve(s, input.xAxis, `series[${i}]`));
  const names = curves.map((c) => c.model);
  if (new Set(names).size !== names.length) fail(`series repeat a model name: ${names.join(', ')}`);
  const multi = curves.length > 1;
  const cursor = input.cursor;
  if (cursor !== undefined && (!Number.isFinite(cursor.x) || typeof cursor.label !== 'string')) {
    fail(`cursor must be { x: finite number, label: text }, got ${JSON.stringify(cursor)}`);
  }

  const yValues = curves.flatMap((c) => [
    ...c.mean,
    ...c.lower,
    ...c.upper,
    ...(c.baseline !== undefined ? [c.baseline] : []),
  ]);
  const y = niceExtent(yValues);
  const x =
    input.xAxis === 'depth'
      ? { min: 0, max: 1, interval: 0.1 }
      : layerExtent(
          Math.min(...curves.map((c) => c.x[0])),
          Math.max(...curves.map((c) => c.x[c.x.length - 1])),
        );
  const subtitle = input.subtitle ?? FUSION_CURVE_NOTE;
  const subtitleLines = subtitle ? subtitle.split('\n').length : 0;
  const legendTop = 10 + (input.title ? 26 : 0) + (subtitleLines ? 6 + 16 * subtitleLines : 0);
  const fusionLabels = input.fusionLabels ?? !multi;

  const series = curves.flatMap((curve, i) => {
    const color = seriesColor(i);
    return [
      ...bandSeries(curve, color, i),
      meanSeries(curve, color, i, multi, i === 0 ? cursor : undefined),
      fusionSeries(curve, color, i, fusionLabels, multi),
    ];
  });

  return {
    ...baseOption(),
    title: titleOption(input.title, subtitle),
    legend: {
      show: multi,
      data: names,
      top: legendTop,
      left: 'center',
      itemWidth: 22,
      itemHeight: 10,
      textStyle: { fontSize: FONT_SIZE.legend, color: TEXT_COLOR, fontFamily: FONT_FAMILY },
    },
    grid: { left: 78, right: 28, top: legendTop + (multi ? 34 : 14), bottom: 58 },
    xAxis: {
      type: 'value',
      ...axisStyle(),
      name: input.xAxis === 'depth' ? 'normalised depth  layer / (L \u2212 1)' : 'decoder layer',
      nameLocation: 'middle',
      nameGap: 30,
      ...x,
    },
    yAxis: {
      type: 'value',
      ...axisStyle(),
      name: input.metricLabel,
      nameLocation: 'middle',
      nameGap: 54,
      ...y,
    },
    series,
  } as EChartsOption;
}
