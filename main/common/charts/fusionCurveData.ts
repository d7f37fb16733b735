/**
 * Checks one model's masking curve and puts it on the chosen x axis: decoder layer, or normalised depth
 * layer / (L - 1) so that models with different layer counts overlay.
 */
import { halfStep, indexRuns } from './runs.ts';
import { fail, requireIncreasing, requireNumbers } from './validate.ts';

export interface FusionCurveSeries {
  model: string;
  /** Decoder layer of each point. Default 0, 1, ..., n-1. */
  layers?: readonly number[];
  /** Normalised depth of each point in [0, 1]. Default layer / (numLayers - 1). */
  depth?: readonly number[];
  /** Decoder layer count L, for the default depth. Default max(layers) + 1. */
  numLayers?: number;
  /** Per-layer masked score (or drop); NaN/null leaves a gap. */
  mean: readonly number[];
  /** 95% interval bounds, same length as mean. */
  lower: readonly number[];
  upper: readonly number[];
  /** Unmasked score, drawn as a dashed line. */
  baseline?: number;
  /** The baseline's label. Default 'baseline', with the series' name when there are several. */
  baselineLabel?: string;
  /** Layers (decoder indices) flagged as fusion layers. */
  fusionLayers: readonly number[];
  /** Layers flagged as the late review phase. */
  reviewLayers: readonly number[];
  /** First layer of the plateau where masking stops hurting. */
  plateauStart?: number | null;
}

export type FusionXAxis = 'layer' | 'depth';

export interface CurvePoint {
  layer: number;
  x: number;
  y: number;
}

export interface ResolvedCurve {
  model: string;
  x: number[];
  layers: number[];
  mean: number[];
  lower: number[];
  upper: number[];
  baseline?: number;
  baselineLabel?: string;
  fusion: CurvePoint[];
  /** Shaded review phases as [xStart, xEnd], half a layer step beyond the first and last review layer. */
  reviewRuns: [number, number][];
  plateauX?: number;
}

function defaultLayers(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export function resolveCurve(series: FusionCurveSeries, axis: FusionXAxis, field: string): ResolvedCurve {
  if (typeof series !== 'object' || series === null) fail(`${field} must be an object`);
  if (typeof series.model !== 'string' || series.model.length === 0) fail(`${field}.model must be a name`);
  const mean = requireNumbers(series.mean, `${field}.mean`);
  const n = mean.length;
  if (n === 0) fail(`${field}.mean is empty`);
  const lower = requireNumbers(series.lower, `${field}.lower`, n);
  const upper = requireNumbers(series.upper, `${field}.upper`, n);
  const layers = series.layers ? requireNumbers(series.layers, `${field}.layers`, n) : defaultLayers(n);
  requireIncreasing(layers, `${field}.layers`);
  layers.forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0) fail(`${field}.layers[${i}] must be a layer index, got ${l}`);
  });
  const numLayers = series.numLayers ?? layers[layers.length - 1] + 1;
  if (!Number.isInteger(numLayers) || numLayers <= layers[layers.length - 1]) {
    fail(`${field}.numLayers must be an integer above the last layer, got ${numLayers}`);
  }
  const depthOf = (layer: number): number => (numLayers > 1 ? layer / (numLayers - 1) : 0);
  const depth = series.depth ? requireNumbers(series.depth, `${field}.depth`, n) : layers.map(depthOf);
  requireIncreasing(depth, `${field}.depth`);
  depth.forEach((d, i) => {
    if (d < 0 || d > 1) fail(`${field}.depth[${i}] must lie in [0, 1], got ${d}`);
  });
  const x = axis === 'depth' ? [...depth] : [...layers];

  const indexOf = (layer: number, what: string): number => {
    const i = layers.indexOf(layer);
    if (i < 0) fail(`${field}.${what} names layer ${layer}, which the curve does not have`);
    return i;
  };
  const fusion = [...new Set(series.fusionLayers ?? [])]
    .sort((a, b) => a - b)
    .map((layer) => {
      const i = indexOf(layer, 'fusionLayers');
      return { layer, x: x[i], y: mean[i] };
    });

  const pad = halfStep(x, axis === 'depth' ? 0.5 / numLayers : 0.5);
  const reviewRuns = indexRuns(
    x,
    [...new Set(series.reviewLayers ?? [])].map((layer) => indexOf(layer, 'reviewLayers')),
    pad,
  );

  let plateauX: number | undefined;
  if (series.plateauStart !== undefined && series.plateauStart !== null) {
    const p = series.plateauStart;
    if (!Number.isFinite(p)) fail(`${field}.plateauStart must be a layer, got ${p}`);
    const i = layers.indexOf(p);
    plateauX = i >= 0 ? x[i] : axis === 'depth' ? depthOf(p) : p;
  }
  if (series.baseline !== undefined && !Number.isFinite(series.baseline)) {
    fail(`${field}.baseline must be finite, got ${series.baseline}`);
  }
  return {
    model: series.model,
    x,
    layers: [...layers],
    mean: [...mean],
    lower: [...lower],
    upper: [...upper],
    ...(series.baseline !== undefined ? { baseline: series.baseline } : {}),
    ...(typeof series.baselineLabel === 'string' ? { baselineLabel: series.baselineLabel } : {}),
    fusion,
    reviewRuns,
    ...(plateauX !== undefined ? { plateauX } : {}),
  };
}
