/**
 * The per-layer read-outs' summaries (logit lens, attention share) as charts and tables: one builder
 * each, shared by the report (engine) and the app's Layers view, so both draw and export the same.
 */
import type { EChartsOption } from 'echarts';

import {
  ATTENTION_SHARE_PARTS,
  LOGIT_LENS_METRICS,
  type AttentionSharePart,
  type AttentionShareSummary,
  type LayerStat,
  type LogitLensMetric,
  type LogitLensSummary,
} from '../analysis.ts';
import { evolutionCurvesOption } from './evolutionCurves.ts';
import { layerSharesOption } from './layerShares.ts';

export const LOGIT_LENS_LABELS: Readonly<Record<LogitLensMetric, string>> = {
  gold_prob: 'gold probability',
  top1_prob: 'top-1 probability',
  gold_rank: 'gold rank',
};

export const ATTENTION_SHARE_LABELS: Readonly<Record<AttentionSharePart, string>> = {
  image: 'image',
  prefix: 'prefix (BOS, system)',
  text: 'text after the image',
  self: 'itself',
};

/** Layer marks the charts take from a sweep of the same model (paper §1). */
export interface LayerMarks {
  readonly fusionLayers?: readonly number[];
  readonly reviewLayers?: readonly number[];
  readonly title?: string;
}

export interface LayerTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (number | string | null)[])[];
}

const layersOf = (curves: readonly (readonly LayerStat[] | undefined)[]) =>
  curves.find((c) => c && c.length)?.map((s) => s.layer) ?? [];

const known = (layers: readonly number[], marks: readonly number[] | undefined) =>
  (marks ?? []).filter((l) => layers.includes(l));

/** One panel per stored metric (gold probability, top-1 probability, gold rank), with bands. */
export function logitLensOption(summary: LogitLensSummary, marks: LayerMarks = {}): EChartsOption | null {
  const metrics = LOGIT_LENS_METRICS.filter((m) => summary.curves[m]?.length);
  const layers = layersOf(metrics.map((m) => summary.curves[m]));
  if (!metrics.length || !layers.length) return null;
  const first = summary.firstTop1.mean;
  return evolutionCurvesOption({
    title: marks.title ?? `Logit lens · ${summary.sampleCount} samples`,
    subtitle:
      first === null
        ? 'the gold token is top-1 at no layer'
        : `gold first top-1 at layer ${first.toFixed(1)} on average (${summary.firstTop1.reached} of ${summary.firstTop1.of} samples)`,
    layers,
    series: metrics.map((m) => {
      const stats = summary.curves[m] as readonly LayerStat[];
      return {
        name: LOGIT_LENS_LABELS[m],
        mean: stats.map((s) => s.mean),
        lower: stats.map((s) => s.lower),
        upper: stats.map((s) => s.upper),
      };
    }),
    fusionLayers: known(layers, marks.fusionLayers),
    reviewLayers: known(layers, marks.reviewLayers),
  });
}

/** Per layer: each metric's mean and interval. */
export function logitLensTable(summary: LogitLensSummary): LayerTable {
  const metrics = LOGIT_LENS_METRICS.filter((m) => summary.curves[m]?.length);
  const layers = layersOf(metrics.map((m) => summary.curves[m]));
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

/** The four shares stacked per layer, layers with a near-zero image share shaded. */
export function attentionShareOption(
  summary: AttentionShareSummary,
  marks: LayerMarks = {},
): EChartsOption | null {
  const layers = layersOf(ATTENTION_SHARE_PARTS.map((p) => summary.shares[p]));
  if (!layers.length) return null;
  const flagged = summary.flaggedLayers.length;
  return layerSharesOption({
    title: marks.title ?? `Attention share of the answer position · ${summary.sampleCount} samples`,
    subtitle: flagged
      ? `shaded: image share below ${summary.threshold} (${flagged} layer${flagged === 1 ? '' : 's'})`
      : `image share at or above ${summary.threshold} at every layer`,
    layers,
    parts: ATTENTION_SHARE_PARTS.map((p) => ({
      name: ATTENTION_SHARE_LABELS[p],
      mean: summary.shares[p].map((s) => s.mean),
    })),
    flaggedLayers: summary.flaggedLayers,
    flaggedLabel: `image < ${summary.threshold}`,
    fusionLayers: known(layers, marks.fusionLayers),
    yName: 'share of attention',
  });
}

/** Per layer: each share's mean and interval, the fraction of samples flagged, and the flag. */
export function attentionShareTable(summary: AttentionShareSummary): LayerTable {
  const layers = layersOf(ATTENTION_SHARE_PARTS.map((p) => summary.shares[p]));
  return {
    columns: [
      'layer',
      ...ATTENTION_SHARE_PARTS.flatMap((p) => [`${p}_share`, `${p}_lower`, `${p}_upper`]),
      'flagged_fraction',
      'flagged',
    ],
    rows: layers.map((layer, i) => [
      layer,
      ...ATTENTION_SHARE_PARTS.flatMap((p) => {
        const s = summary.shares[p][i];
        return [s.mean, s.lower, s.upper];
      }),
      summary.flaggedFraction[i] ?? null,
      summary.flaggedLayers.includes(layer) ? 1 : 0,
    ]),
  };
}
