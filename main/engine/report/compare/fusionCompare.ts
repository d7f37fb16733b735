/**
 * The comparison's masking curves (paper §1): per masking mode one figure, every model that was swept
 * in it on normalised depth layer / (L − 1), so models of different depth overlay. Each curve is what
 * the model's own report draws (baseline − drop, banded by the paired drop's 95% interval), with its
 * dashed baseline, its fusion layers as numbered diamonds (numbered: a layer cannot be read off a depth
 * axis), its review layers shaded and its plateau dotted, as its sweep labels them.
 */
import { fusionCurveOption, type FusionCurveSeries } from '../../../common/charts/fusionCurve.ts';
import { FIGURE_SIZE } from '../../../common/charts/theme.ts';
import type { ReportFiles } from '../reportFiles.ts';
import { toCsv } from '../table/csv.ts';
import type { ModelDigest, SweepDigest } from './modelDigest.ts';

/** A figure of the comparison, for compare.json. */
export interface ComparedFigure {
  readonly section: string;
  readonly title: string;
  /** The models drawn in it, by slug. */
  readonly models: readonly string[];
}

interface Curve {
  readonly model: ModelDigest;
  readonly sweep: SweepDigest;
}

/** The figure's file name: the paper's zeroing is plain `fusion-curve-hidden`. */
export const fusionFigureName = (group: string) => `fusion-curve-${group}`;

/** The curves of each group, groups in the order the models' reports draw them (hidden first). */
function byGroup(models: readonly ModelDigest[]): Map<string, Curve[]> {
  const groups = new Map<string, Curve[]>();
  for (const model of models) {
    for (const sweep of model.sweeps) {
      const curves = groups.get(sweep.group) ?? [];
      // A model with several sweeps in one group (two window sizes): its report's first.
      if (!curves.some((c) => c.model === model)) groups.set(sweep.group, [...curves, { model, sweep }]);
    }
  }
  return groups;
}

function seriesOf({ model, sweep }: Curve): FusionCurveSeries {
  const labels = sweep.summary.labels;
  return {
    model: model.name,
    layers: sweep.curve.map((p) => p.layer),
    numLayers: model.layers,
    mean: sweep.curve.map((p) => p.mean),
    lower: sweep.curve.map((p) => p.lower),
    upper: sweep.curve.map((p) => p.upper),
    baseline: sweep.summary.baselineMean,
    baselineLabel: `baseline (${model.slug})`,
    fusionLayers: labels.fusionLayers,
    reviewLayers: labels.reviewLayers,
    plateauStart: labels.plateauStart,
  };
}

function subtitle(curves: readonly Curve[]): string {
  const metrics = [...new Set(curves.map((c) => c.model.metricText))].join(' / ');
  const counts = [...new Set(curves.map((c) => c.sweep.summary.sampleCount))];
  const n =
    counts.length === 1
      ? `n = ${counts[0]} questions each`
      : `n = ${curves.map((c) => `${c.sweep.summary.sampleCount} (${c.model.slug})`).join(', ')}`;
  const band = curves.every((c) => c.sweep.paired)
    ? 'band: 95% paired bootstrap CI of the drop'
    : 'band: 95% CI';
  return [
    `${metrics} \u00b7 ${n} \u00b7 ${band}`,
    '\u25c6 fusion layer (numbered) \u00b7 shaded: review \u00b7 dotted: plateau \u00b7 dashed: unmasked baseline',
  ].join('\n');
}

function curveCsv(curves: readonly Curve[]): string {
  return toCsv(
    [
      'model',
      'layers',
      'mode',
      'fill',
      'window',
      'run',
      'layer',
      'depth',
      'masked_score',
      'band_lower',
      'band_upper',
      'drop_mean',
      'drop_ci_lower',
      'drop_ci_upper',
      'label',
    ],
    curves.flatMap(({ model, sweep }) =>
      sweep.curve.map((point, i) => {
        const drop = sweep.paired ? sweep.summary.drops[i] : undefined;
        return [
          model.slug,
          model.layers,
          sweep.summary.mode,
          sweep.summary.fill ?? null,
          sweep.window,
          sweep.run.id,
          point.layer,
          point.depth,
          point.mean,
          point.lower,
          point.upper,
          drop?.mean ?? null,
          drop?.lower ?? null,
          drop?.upper ?? null,
          sweep.summary.labels.layers[i]?.label ?? null,
        ];
      }),
    ),
  );
}

/** Adds one figure (SVG, PNG, CSV) per masking mode; returns them by name. */
export async function addFusionComparison(
  files: ReportFiles,
  models: readonly ModelDigest[],
): Promise<Record<string, ComparedFigure>> {
  const figures: Record<string, ComparedFigure> = {};
  for (const [group, curves] of byGroup(models)) {
    const methods = [...new Set(curves.map((c) => c.sweep.method))].join(', ');
    const title = `Where each model fuses the image: ${methods}`;
    const option = fusionCurveOption({
      title,
      subtitle: subtitle(curves),
      metricLabel: `${[...new Set(curves.map((c) => c.model.metricText))].join(' / ')}, image masked`,
      xAxis: 'depth',
      series: curves.map(seriesOf),
      fusionLabels: true,
    });
    const name = fusionFigureName(group);
    await files.addChart(
      name,
      option,
      { width: FIGURE_SIZE.curve.width, height: 480 },
      curves.map((c) => c.sweep.run),
    );
    files.addFile(`${name}.csv`, curveCsv(curves));
    figures[name] = { section: 'sweep', title, models: curves.map((c) => c.model.slug) };
  }
  return figures;
}
