/**
 * The image-token lens as charts: its per-layer curves (mean top-1 probability over the image
 * tokens, the shares of tokens that read the gold answer) and the token grid of one sample at a few
 * layers, each cell labelled with its top-1 token and coloured by that token's probability. Shared
 * by the report (engine) and the app's Layers view, so both draw and export the same.
 */
import type { EChartsOption } from 'echarts';

import {
  IMAGE_LENS_METRICS,
  type ImageLensMetric,
  type ImageLensSummary,
  type LayerStat,
} from '../analysis.ts';
import { rgbToHex, sampleColormap, type Rgb } from './colormaps.ts';
import { evolutionCurvesOption } from './evolutionCurves.ts';
import type { LayerMarks, LayerTable } from './layerReadouts.ts';
import { AXIS_COLOR, FONT_FAMILY, FONT_SIZE, TEXT_COLOR, baseOption, titleOption } from './theme.ts';
import { fail } from './validate.ts';

/** Short enough for a panel's axis name; the chart's subtitle says what each means. */
export function imageLensLabel(metric: ImageLensMetric, topK: number): string {
  return {
    patch_top1_prob: 'mean top-1 prob.',
    patch_gold_top1: 'share gold top-1',
    patch_gold_topk: `share gold top-${topK}`,
    patch_gold_prob_max: 'max gold prob.',
  }[metric];
}

const metricsOf = (summary: ImageLensSummary) => IMAGE_LENS_METRICS.filter((m) => summary.curves[m]?.length);

const known = (layers: readonly number[], marks: readonly number[] | undefined) =>
  (marks ?? []).filter((l) => layers.includes(l));

/** One panel per stored metric over the recorded layers, with 95% bands over samples. */
export function imageLensOption(summary: ImageLensSummary, marks: LayerMarks = {}): EChartsOption | null {
  const metrics = metricsOf(summary);
  const layers = summary.curves[metrics[0]]?.map((s) => s.layer) ?? [];
  if (!metrics.length || !layers.length) return null;
  return evolutionCurvesOption({
    title: marks.title ?? `Image-token lens · ${summary.sampleCount} samples`,
    subtitle: [
      'each image token’s residual stream through the final norm and LM head; per sample over its image tokens:',
      `mean top-1 probability, share ranking the gold answer first / in the top ${summary.topK}, largest gold probability`,
      'bands: 95% bootstrap CI over samples',
    ].join('\n'),
    layers,
    series: metrics.map((m) => {
      const stats = summary.curves[m] as readonly LayerStat[];
      return {
        name: imageLensLabel(m, summary.topK),
        mean: stats.map((s) => s.mean),
        lower: stats.map((s) => s.lower),
        upper: stats.map((s) => s.upper),
      };
    }),
    fusionLayers: known(layers, marks.fusionLayers),
    reviewLayers: known(layers, marks.reviewLayers),
  });
}

/** Per recorded layer: each metric's mean and interval. */
export function imageLensTable(summary: ImageLensSummary): LayerTable {
  const metrics = metricsOf(summary);
  const layers = summary.curves[metrics[0]]?.map((s) => s.layer) ?? [];
  return {
    columns: ['layer', ...metrics.flatMap((m) => [m, `${m}_lower`, `${m}_upper`])],
    rows: layers.map((layer, i) => [
      layer,
      ...metrics.flatMap((m) => {
        const s = (summary.curves[m] as readonly LayerStat[])[i];
        return [s.mean, s.lower, s.upper];
      }),
    ]),
  };
}

/**
 * A token as a cell shows it: whitespace and control characters made visible (a leading space as
 * "·", another space as "␣", a newline as "⏎", other controls as their Unicode control pictures, which
 * also keeps a byte token's raw control character out of SVG, where XML forbids it), cut to `max`
 * characters with an ellipsis.
 */
export function lensCellText(text: string, max = 5): string {
  const shown = text
    .replace(/\n/g, '\u23ce')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, (c) =>
      String.fromCharCode(c === '\u007f' ? 0x2421 : 0x2400 + c.charCodeAt(0)),
    )
    .replace(/^ +(?=\S)/, '\u00b7')
    .replace(/ /g, '\u2423');
  const chars = [...shown];
  if (chars.length === 0) return '\u2205';
  return chars.length <= max ? shown : `${chars.slice(0, max - 1).join('')}\u2026`;
}

/** Text colour that reads on a cell of colour `rgb`: dark on light cells, white on dark ones. */
export function lensTextColor(rgb: Rgb): string {
  const [r, g, b] = rgb;
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? TEXT_COLOR : '#ffffff';
}

/** The fill of a cell whose top-1 token has probability `prob` (viridis over [0, 1]). */
export function lensCellColor(prob: number): Rgb {
  return sampleColormap('viridis', Math.min(1, Math.max(0, prob)));
}

export interface LensGridCell {
  /** The top-1 token's decoded text. */
  readonly text: string;
  readonly prob: number;
  /** The gold answer's first token: outlined. */
  readonly gold?: boolean;
}

export interface LensGridPanel {
  /** Under the panel, e.g. "layer 12". */
  readonly label: string;
  readonly rows: number;
  readonly cols: number;
  /** Row-major rows × cols; null where the grid has no token (cut by unpadding). */
  readonly cells: readonly (LensGridCell | null)[];
}

export interface LensGridInput {
  readonly title?: string;
  readonly subtitle?: string;
  readonly panels: readonly LensGridPanel[];
}

const MARGIN = 16;
const GAP = 24;
const LABEL = 26;
const COLORBAR = 90;
const MAX_ROW_WIDTH = 2400;
const MAX_PANEL_WIDTH = 1600;

/** Cell size and panel placement: panels side by side, wrapped onto further rows past MAX_ROW_WIDTH. */
function gridLayout(input: LensGridInput) {
  if (!Array.isArray(input?.panels) || input.panels.length === 0)
    fail('a lens grid needs at least one panel');
  input.panels.forEach((p, i) => {
    if (!Number.isInteger(p.rows) || !Number.isInteger(p.cols) || p.rows < 1 || p.cols < 1) {
      fail(`panels[${i}] must have whole rows and cols ≥ 1, got ${p.rows} × ${p.cols}`);
    }
    if (!Array.isArray(p.cells) || p.cells.length !== p.rows * p.cols) {
      fail(`panels[${i}].cells must have rows × cols = ${p.rows * p.cols} entries`);
    }
  });
  const cols = Math.max(...input.panels.map((p) => p.cols));
  const rows = Math.max(...input.panels.map((p) => p.rows));
  // Big enough for a five-character label; smaller only where a wide grid would not fit.
  const cell = Math.max(12, Math.min(36, Math.floor(MAX_PANEL_WIDTH / cols)));
  const panelWidth = cols * cell;
  const panelHeight = rows * cell;
  const perRow = Math.max(1, Math.min(input.panels.length, Math.floor(MAX_ROW_WIDTH / (panelWidth + GAP))));
  const lines = (input.subtitle ?? '').split('\n').length;
  const top = MARGIN + (input.title ? 30 : 0) + (input.subtitle ? 16 * lines + 6 : 0);
  const width = Math.ceil(2 * MARGIN + perRow * panelWidth + (perRow - 1) * GAP + COLORBAR);
  const rowCount = Math.ceil(input.panels.length / perRow);
  const height = Math.ceil(top + rowCount * (panelHeight + LABEL) + (rowCount - 1) * GAP + MARGIN);
  const at = (i: number) => ({
    left: MARGIN + (i % perRow) * (panelWidth + GAP),
    top: top + Math.floor(i / perRow) * (panelHeight + LABEL + GAP),
  });
  return { cell, panelWidth, panelHeight, width, height, top, at };
}

/** The size (CSS pixels) the grid option is laid out for: render it at exactly this size. */
export function lensGridSize(input: LensGridInput): { width: number; height: number } {
  const { width, height } = gridLayout(input);
  return { width, height };
}

const RAMP = Array.from({ length: 9 }, (_, i) => rgbToHex(sampleColormap('viridis', i / 8)));

/**
 * Each panel a heat map on the image-token grid (row 0 at the top, as on the image): a cell per token,
 * coloured by its top-1 probability on one fixed [0, 1] viridis scale, labelled with its top-1 token;
 * gold cells outlined white.
 */
export function lensGridOption(input: LensGridInput): EChartsOption {
  const layout = gridLayout(input);
  const { cell, panelHeight } = layout;
  const fontSize = Math.max(6, Math.min(10, Math.floor(cell / 3.6)));
  const maxChars = Math.max(1, Math.floor(cell / (fontSize * 0.62)));
  const grid = input.panels.map((p, i) => ({
    ...layout.at(i),
    width: p.cols * cell,
    height: p.rows * cell,
  }));
  const axis = (data: number, k: number, name: string) => ({
    type: 'category' as const,
    gridIndex: k,
    data: Array.from({ length: data }, (_, j) => String(j)),
    axisLine: { show: true, lineStyle: { color: AXIS_COLOR } },
    axisTick: { show: false },
    axisLabel: { show: false },
    splitLine: { show: false },
    name,
  });
  return {
    ...baseOption(),
    title: titleOption(input.title, input.subtitle),
    grid,
    xAxis: input.panels.map((p, k) => ({
      ...axis(p.cols, k, p.label),
      nameLocation: 'middle',
      nameGap: 12,
      position: 'bottom',
      nameTextStyle: { color: TEXT_COLOR, fontSize: FONT_SIZE.axisName, fontFamily: FONT_FAMILY },
    })),
    yAxis: input.panels.map((p, k) => ({ ...axis(p.rows, k, ''), inverse: true })),
    visualMap: {
      type: 'continuous',
      min: 0,
      max: 1,
      calculable: false,
      orient: 'vertical',
      right: MARGIN,
      top: layout.top,
      itemHeight: Math.max(80, Math.min(240, panelHeight - 40)),
      text: ['top-1 prob. 1', '0'],
      textStyle: { fontSize: FONT_SIZE.note, color: TEXT_COLOR, fontFamily: FONT_FAMILY },
      inRange: { color: RAMP },
      seriesIndex: input.panels.map((_, k) => k),
    },
    series: input.panels.map((p, k) => ({
      type: 'heatmap',
      id: `lens-${k}`,
      name: p.label,
      xAxisIndex: k,
      yAxisIndex: k,
      emphasis: { disabled: true },
      label: { show: true, fontSize, fontFamily: FONT_FAMILY, formatter: '{b}' },
      data: p.cells.flatMap((c, j) => {
        if (!c) return [];
        const prob = Number.isFinite(c.prob) ? c.prob : 0;
        return [
          {
            name: lensCellText(c.text, maxChars),
            value: [j % p.cols, Math.floor(j / p.cols), prob],
            label: { color: lensTextColor(lensCellColor(prob)) },
            ...(c.gold ? { itemStyle: { borderColor: '#ffffff', borderWidth: 2 } } : {}),
          },
        ];
      }),
    })),
  } as EChartsOption;
}
