/**
 * Shares of a whole over depth: one stacked area per part (they sum to 1 at every layer), on a fixed
 * 0–1 axis, so where the answer position's attention goes reads off the band heights. Flagged layers
 * (e.g. those whose image share is near zero) are shaded; fusion layers get thin guides.
 */
import type { EChartsOption } from 'echarts';
import { halfStep, indexRuns } from './runs.ts';
import { layerExtent } from './ticks.ts';
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

export interface SharePart {
  name: string;
  /** Per layer, the part's share in [0, 1]. */
  mean: readonly number[];
}

export interface LayerSharesInput {
  title?: string;
  subtitle?: string;
  layers: readonly number[];
  /** Bottom to top. */
  parts: readonly SharePart[];
  /** Shaded layers (attention-share: image share below the threshold). */
  flaggedLayers?: readonly number[];
  /** The shading's label (default "flagged"). */
  flaggedLabel?: string;
  /** Thin vertical guides. */
  fusionLayers?: readonly number[];
  yName?: string;
}

export function layerSharesOption(input: LayerSharesInput): EChartsOption {
  if (typeof input !== 'object' || input === null) fail('shares input must be an object');
  const layers = requireNumbers(input.layers, 'layers');
  if (layers.length === 0) fail('layers is empty');
  requireIncreasing(layers, 'layers');
  if (!Array.isArray(input.parts) || input.parts.length === 0) fail('parts must list at least one part');
  const parts = input.parts.map((p, k) => {
    if (typeof p?.name !== 'string' || p.name === '') fail(`parts[${k}].name must be a name`);
    return { name: p.name, mean: requireNumbers(p.mean, `parts[${k}].mean`, layers.length) };
  });
  const flaggedRuns = indexRuns(
    layers,
    (input.flaggedLayers ?? []).map((l) => {
      const i = layers.indexOf(l);
      if (i < 0) fail(`flaggedLayers names layer ${l}, which layers does not have`);
      return i;
    }),
    halfStep(layers, 0.5),
  );
  const fusion = [...(input.fusionLayers ?? [])];
  const legendTop = 10 + (input.title ? 26 : 0) + (input.subtitle ? 22 : 0);

  const series = parts.map((p, k) => {
    const color = seriesColor(k);
    return {
      type: 'line',
      id: `${p.name}::share`,
      name: p.name,
      stack: 'shares',
      z: 2,
      color,
      symbol: 'none',
      lineStyle: { width: 1, color },
      itemStyle: { color },
      areaStyle: { color, opacity: 0.55 },
      emphasis: { disabled: true },
      data: layers.map((l, i) => [l, finiteOrNull(p.mean[i])]),
      // Guides ride on the first part, so each is drawn once.
      ...(k === 0
        ? {
            markArea: {
              silent: true,
              itemStyle: { color: withAlpha('#000000', 0.12) },
              label: {
                show: true,
                position: 'insideTop',
                color: MUTED_TEXT_COLOR,
                fontSize: FONT_SIZE.note,
                fontFamily: FONT_FAMILY,
              },
              data: flaggedRuns.map(([start, end], i) => [
                { name: i === 0 ? (input.flaggedLabel ?? 'flagged') : '', xAxis: start },
                { xAxis: end },
              ]),
            },
            markLine: {
              silent: true,
              symbol: ['none', 'none'],
              label: { show: false },
              lineStyle: { type: 'dotted', color: GUIDE_COLOR, width: 1 },
              data: fusion.map((l) => ({ xAxis: l, name: `fusion ${l}` })),
            },
          }
        : {}),
    };
  });

  return {
    ...baseOption(),
    title: titleOption(input.title, input.subtitle),
    legend: {
      type: 'plain',
      top: legendTop,
      left: 'center',
      icon: 'rect',
      data: parts.map((p) => p.name),
      textStyle: { fontSize: FONT_SIZE.legend, color: TEXT_COLOR, fontFamily: FONT_FAMILY },
    },
    grid: { left: 78, right: 28, top: legendTop + 34, bottom: 58 },
    xAxis: {
      type: 'value',
      ...axisStyle(),
      name: 'decoder layer',
      nameLocation: 'middle',
      nameGap: 28,
      ...layerExtent(layers[0], layers[layers.length - 1]),
    },
    yAxis: {
      type: 'value',
      ...axisStyle(),
      name: input.yName ?? 'share',
      nameLocation: 'middle',
      nameGap: 54,
      min: 0,
      max: 1,
      interval: 0.2,
    },
    series,
  } as EChartsOption;
}
