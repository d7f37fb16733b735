/**
 * Sweep summaries → fusion-curve input (fusionCurveOption): one series per run, on decoder layers
 * when every run's model has the same depth, else on normalised depth so they overlay (paper §1).
 */
import type { LabelParams, SweepSummary } from '../../../main/common/analysis.ts';
import type { FusionCurveSeries, FusionXAxis } from '../../../main/common/charts/index.ts';

export interface CurveRun {
  readonly name: string;
  readonly summary: SweepSummary;
  /** Decoder layers of the model (from its ModelView); inferred from the curve's depths when unknown. */
  readonly numLayers?: number;
}

/** L from a curve's points: depth = layer / (L − 1), so any point with depth > 0 gives it. */
export function inferLayerCount(summary: SweepSummary): number {
  const point = summary.masked.find((s) => s.depth > 0);
  return point ? Math.round(point.layer / point.depth) + 1 : summary.masked.length;
}

export function curveSeries(run: CurveRun): FusionCurveSeries {
  const { summary } = run;
  return {
    model: run.name,
    layers: summary.masked.map((s) => s.layer),
    depth: summary.masked.map((s) => s.depth),
    numLayers: run.numLayers ?? inferLayerCount(summary),
    mean: summary.masked.map((s) => s.mean),
    // The band the labels test: the paired drop's interval, drawn as baseline − drop (summaries from
    // before the paired drops were kept fall back to the masked score's own interval).
    lower: summary.drops
      ? summary.drops.map((d) => summary.baselineMean - d.upper)
      : summary.masked.map((s) => s.lower),
    upper: summary.drops
      ? summary.drops.map((d) => summary.baselineMean - d.lower)
      : summary.masked.map((s) => s.upper),
    baseline: summary.baselineMean,
    fusionLayers: summary.labels.fusionLayers,
    reviewLayers: summary.labels.reviewLayers,
    plateauStart: summary.labels.plateauStart,
  };
}

export function chooseAxis(runs: readonly CurveRun[]): FusionXAxis {
  const depths = new Set(runs.map((r) => r.numLayers ?? inferLayerCount(r.summary)));
  return depths.size > 1 ? 'depth' : 'layer';
}

/** The curve's point nearest to a clicked x (layer or depth): its decoder layer. */
export function layerAt(summary: SweepSummary, axis: FusionXAxis, x: number): number | null {
  let best: number | null = null;
  let distance = Infinity;
  for (const s of summary.masked) {
    const d = Math.abs((axis === 'depth' ? s.depth : s.layer) - x);
    if (d < distance) {
      distance = d;
      best = s.layer;
    }
  }
  return best;
}

export function metricLabel(metric: string): string {
  return metric === 'gold_prob'
    ? 'gold-answer probability with the image masked'
    : 'score with the image masked at the layer';
}

/** The label-rule form: empty fields keep the backend's defaults; numbers parse, bad text is named. */
export interface LabelDraft {
  scale: '' | 'relative' | 'absolute';
  /** '' = by the sweep's mode (marginal for hidden, drop for knockout). */
  criterion: '' | 'drop' | 'marginal';
  correction: '' | 'none' | 'holm' | 'bh';
  minDrop: string;
  plateauDrop: string;
  /** A count of layers (≥ 1), or a fraction of the depth (< 1). */
  plateauLength: string;
  minReviewDrop: string;
  minSamples: string;
}

export const EMPTY_LABEL_DRAFT: LabelDraft = {
  scale: '',
  criterion: '',
  correction: '',
  minDrop: '',
  plateauDrop: '',
  plateauLength: '',
  minReviewDrop: '',
  minSamples: '',
};

export function labelParams(draft: LabelDraft): { params: LabelParams } | { error: string } {
  const out: { -readonly [K in keyof LabelParams]: LabelParams[K] } = {};
  if (draft.scale) out.scale = draft.scale;
  if (draft.criterion) out.criterion = draft.criterion;
  if (draft.correction) out.correction = draft.correction;
  const numbers = ['minDrop', 'plateauDrop', 'minReviewDrop'] as const;
  for (const key of numbers) {
    const text = draft[key].trim();
    if (!text) continue;
    const v = Number(text);
    if (!Number.isFinite(v) || v < 0) return { error: `${key} must be a number ≥ 0, got "${text}"` };
    out[key] = v;
  }
  const length = draft.plateauLength.trim();
  if (length) {
    const v = Number(length);
    if (!Number.isFinite(v) || v <= 0) return { error: `plateau length must be > 0, got "${length}"` };
    if (v < 1) out.plateauLength = { fraction: v };
    else if (Number.isInteger(v)) out.plateauLength = v;
    else
      return { error: `plateau length is a whole number of layers or a fraction below 1, got "${length}"` };
  }
  const samples = draft.minSamples.trim();
  if (samples) {
    const v = Number(samples);
    if (!Number.isInteger(v) || v < 1)
      return { error: `minSamples must be a whole number ≥ 1, got "${samples}"` };
    out.minSamples = v;
  }
  return { params: out };
}
