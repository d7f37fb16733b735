/**
 * Attention evolution over depth: one stacked panel per metric (box mass, entropy, Hellinger distance
 * to the final layer, ...), sharing the layer axis, each with its own y scale and optional band.
 * Review layers are shaded and fusion layers marked in every panel when given.
 */
import type { EChartsOption } from 'echarts';
import { halfStep, indexRuns } from './runs.ts';
import { layerExtent, niceExtent } from './ticks.ts';
import {
  FONT_FAMILY,
  FONT_SIZE,
  GUIDE_COLOR,
  MUTED_TEXT_COLOR,
  TEXT_COLOR,
  axisStyle,
  baseOption,
  seriesColor,
  titleOption,
  withAlpha,
} from './theme.ts';
import { fail, finiteOrNull, requireIncreasing, requireNumbers } from './validate.ts';

export interface EvolutionSeries {
  name: 'box mass' | 'normalised entropy' | 'Hellinger to final' | (string & {});
  mean: readonly number[];
  lower?: readonly number[];
  upper?: readonly number[];
  /** A level to read the curve against, dashed across the panel (box mass: chance, uniform attention). */
  reference?: { value: number; label: string };
}

export interface EvolutionCurvesInput {
  title?: string;
  subtitle?: string;
  layers: readonly number[];
  series: readonly EvolutionSeries[];
  /** Shaded in every panel (the paper's rise of Hellinger distance at the review layer). */
  reviewLayers?: readonly number[];
  /** Thin vertical guides in every panel. */
  fusionLayers?: readonly number[];
  /** The layer the app is showing (e.g. its overlay's layer slider): a solid guide in every panel. */
  cursorLayer?: number;
}

function defaultNote(review: boolean, fusion: boolean): string | undefined {
  const parts = [...(review ? ['shaded: review layers'] : []), ...(fusion ? ['dotted: fusion layers'] : [])];
  return parts.length > 0 ? parts.join('   ') : undefined;
}

/** Panel geometry in percent of the chart height, so the option works at any explicit size. */
function panelLayout(
  count: number,
  hasTitle: boolean,
  subtitleLines: number,
): { top: number; height: number }[] {
  const top = hasTitle ? 12 + 3 * Math.max(0, subtitleLines - 1) : 4;
  const bottom = 9;
  const gap = 4;
  const height = (100 - top - bottom - gap * (count - 1)) / count;
  return Array.from({ length: count }, (_, i) => ({ top: top + i * (height + gap), height }));
}

/** The shown layer: solid, darker than the fusion guides, labelled once (in the top panel). */
function cursorLine(layer: number, labelled: boolean): Record<string, unknown> {
  return {
    xAxis: layer,
    name: `layer ${layer}`,
    lineStyle: { type: 'solid', color: TEXT_COLOR, width: 1.5 },
    label: {
      show: labelled,
      formatter: `layer ${layer}`,
      position: 'insideEndTop',
      color: TEXT_COLOR,
      fontSize: FONT_SIZE.note,
    },
  };
}

/** A panel's reference level: dashed, labelled at its right end. */
function referenceLine(reference: { value: number; label: string }): Record<string, unknown> {
  return {
    yAxis: reference.value,
    name: 'reference',
    lineStyle: { type: 'dashed', color: MUTED_TEXT_COLOR, width: 1.2 },
    label: {
      show: true,
      formatter: reference.label,
      position: 'insideEndTop',
      color: MUTED_TEXT_COLOR,
      fontSize: FONT_SIZE.note,
    },
  };
}

export function evolutionCurvesOption(input: EvolutionCurvesInput): EChartsOption {
  if (typeof input !== 'object' || input === null) fail('evolution input must be an object');
  const layers = requireNumbers(input.layers, 'layers');
  if (layers.length === 0) fail('layers is empty');
  requireIncreasing(layers, 'layers');
  if (!Array.isArray(input.series) || input.series.length === 0) fail('series must list at least one metric');
  const n = layers.length;
  const panels = input.series.map((s, k) => {
    if (typeof s?.name !== 'string' || s.name === '') fail(`series[${k}].name must be a name`);
    const mean = requireNumbers(s.mean, `series[${k}].mean`, n);
    if ((s.lower === undefined) !== (s.upper === undefined)) {
      fail(`series[${k}] needs both lower and upper, or neither`);
    }
    const lower = s.lower ? requireNumbers(s.lower, `series[${k}].lower`, n) : undefined;
    const upper = s.upper ? requireNumbers(s.upper, `series[${k}].upper`, n) : undefined;
    const reference = s.reference;
    if (
      reference !== undefined &&
      (!Number.isFinite(reference?.value) || typeof reference?.label !== 'string')
    ) {
      fail(`series[${k}].reference must be { value: finite number, label: text }`);
    }
    return { name: s.name, mean, lower, upper, reference };
  });
  const fusion = [...(input.fusionLayers ?? [])];
  const cursor = input.cursorLayer;
  if (cursor !== undefined && !Number.isFinite(cursor)) fail(`cursorLayer must be a layer, got ${cursor}`);
  const reviewRuns = indexRuns(
    layers,
    (input.reviewLayers ?? []).map((l) => {
      const i = layers.indexOf(l);
      if (i < 0) fail(`reviewLayers names layer ${l}, which layers does not have`);
      return i;
    }),
    halfStep(layers, 0.5),
  );
  const subtitle = input.subtitle ?? defaultNote(reviewRuns.length > 0, fusion.length > 0);
  const layout = panelLayout(
    panels.length,
    Boolean(input.title || subtitle),
    subtitle ? subtitle.split('\n').length : 0,
  );
  const x = layerExtent(layers[0], layers[n - 1]);

  const grid = layout.map((p) => ({ left: 82, right: 28, top: `${p.top}%`, height: `${p.height}%` }));
  const xAxis = panels.map((_, k) => {
    const last = k === panels.length - 1;
    const style = axisStyle() as { axisLabel: Record<string, unknown> };
    return {
      type: 'value',
      gridIndex: k,
      ...style,
      axisLabel: { ...style.axisLabel, show: last },
      name: last ? 'decoder layer' : '',
      nameLocation: 'middle',
      nameGap: 28,
      ...x,
    };
  });
  const yAxis = panels.map((p, k) => ({
    type: 'value',
    gridIndex: k,
    ...axisStyle(),
    name: p.name,
    nameLocation: 'middle',
    nameGap: 54,
    splitNumber: 3,
    ...niceExtent(
      [...p.mean, ...(p.lower ?? []), ...(p.upper ?? []), ...(p.reference ? [p.reference.value] : [])],
      3,
    ),
  }));

  const series = panels.flatMap((p, k) => {
    const color = seriesColor(k);
    const out: Record<string, unknown>[] = [];
    if (p.lower && p.upper) {
      const { lower, upper } = p;
      const ok = (i: number) => Number.isFinite(lower[i]) && Number.isFinite(upper[i]);
      const band = {
        type: 'line',
        name: `${p.name} 95% CI`,
        xAxisIndex: k,
        yAxisIndex: k,
        stack: `band-${k}`,
        stackStrategy: 'all',
        symbol: 'none',
        silent: true,
        lineStyle: { opacity: 0 },
        emphasis: { disabled: true },
        z: 1,
      };
      out.push({
        ...band,
        id: `${p.name}::ci-lower`,
        data: layers.map((l, i) => [l, ok(i) ? lower[i] : null]),
      });
      out.push({
        ...band,
        id: `${p.name}::ci`,
        areaStyle: { color, opacity: 0.2 },
        data: layers.map((l, i) => [l, ok(i) ? upper[i] - lower[i] : null]),
      });
    }
    out.push({
      type: 'line',
      id: `${p.name}::mean`,
      name: p.name,
      xAxisIndex: k,
      yAxisIndex: k,
      z: 3,
      color,
      symbol: 'circle',
      symbolSize: 4,
      lineStyle: { width: 2, color },
      itemStyle: { color },
      emphasis: { disabled: true },
      data: layers.map((l, i) => [l, finiteOrNull(p.mean[i])]),
      markArea: {
        silent: true,
        itemStyle: { color: withAlpha('#7f7f7f', 0.14) },
        label: {
          show: k === 0,
          position: 'insideTop',
          color: MUTED_TEXT_COLOR,
          fontSize: FONT_SIZE.note,
          fontFamily: FONT_FAMILY,
        },
        data: reviewRuns.map(([start, end]) => [{ name: 'review', xAxis: start }, { xAxis: end }]),
      },
      markLine: {
        silent: true,
        symbol: ['none', 'none'],
        label: { show: false },
        lineStyle: { type: 'dotted', color: GUIDE_COLOR, width: 1 },
        data: [
          ...fusion.map((l) => ({ xAxis: l, name: `fusion ${l}` })),
          ...(cursor !== undefined ? [cursorLine(cursor, k === 0)] : []),
          ...(p.reference ? [referenceLine(p.reference)] : []),
        ],
      },
    });
    return out;
  });

  return {
    ...baseOption(),
    title: titleOption(input.title, subtitle),
    grid,
    xAxis,
    yAxis,
    series,
  } as EChartsOption;
}
