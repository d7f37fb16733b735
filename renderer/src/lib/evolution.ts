/**
 * Attention-evolution curves (paper §2: box mass, entropy, Hellinger distance to the final layer) for
 * evolutionCurvesOption: one sample's values (SampleDetail.metrics) or a run's means with bands
 * (EvolutionSummary), in the same panel order and with the same names as the report.
 */
import type { EvolutionSummary } from '../../../main/common/analysis.ts';
import type { EvolutionSeries } from '../../../main/common/charts/index.ts';
import { EVOLUTION_METRIC_ORDER, evolutionMetricLabel } from '../../../main/common/charts/labels.ts';
import type { LayerMetricValue } from '../../../main/common/runs.ts';

export interface CurveSet {
  readonly layers: number[];
  readonly series: EvolutionSeries[];
}

function ordered(names: Iterable<string>): string[] {
  const rank = (n: string) => {
    const i = EVOLUTION_METRIC_ORDER.indexOf(n);
    return i < 0 ? EVOLUTION_METRIC_ORDER.length : i;
  };
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** One sample's per-layer metrics; a layer a metric lacks is a gap (NaN). */
export function sampleCurves(metrics: readonly LayerMetricValue[]): CurveSet {
  const layers = [...new Set(metrics.map((m) => m.layer))].sort((a, b) => a - b);
  const series = ordered(metrics.map((m) => m.name)).map((name) => {
    const byLayer = new Map(metrics.filter((m) => m.name === name).map((m) => [m.layer, m.value]));
    return { name: evolutionMetricLabel(name), mean: layers.map((l) => byLayer.get(l) ?? NaN) };
  });
  return { layers, series };
}

/** A run's mean curves with their 95% intervals. */
export function runCurves(summary: EvolutionSummary): CurveSet {
  const names = ordered(Object.keys(summary.curves));
  const layers = [...new Set(names.flatMap((n) => summary.curves[n].map((s) => s.layer)))].sort(
    (a, b) => a - b,
  );
  const series = names.map((name) => {
    const byLayer = new Map(summary.curves[name].map((s) => [s.layer, s]));
    const pick = (key: 'mean' | 'lower' | 'upper') => layers.map((l) => byLayer.get(l)?.[key] ?? NaN);
    return {
      name: evolutionMetricLabel(name),
      mean: pick('mean'),
      lower: pick('lower'),
      upper: pick('upper'),
    };
  });
  return { layers, series };
}
