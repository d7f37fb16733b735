/**
 * The comparison's attention evolution (paper §2): the answer position's attention share inside the
 * question's relevant box at each depth layer / (L − 1), one line per model with its 95% bootstrap
 * band, each model's chance level (uniform attention over its own token grid: grids differ, so do the
 * levels) dashed, and the fusion and review layers its newest sweep labels marked on its line, as its
 * own report's evolution figure marks them. Drawn with the masking curve's builder, which overlays
 * models on depth (the per-model evolution figure stacks one model's metrics on layers instead).
 */
import { fusionCurveOption, type FusionCurveSeries } from '../../../common/charts/fusionCurve.ts';
import { FIGURE_SIZE } from '../../../common/charts/theme.ts';
import type { ReportFiles } from '../reportFiles.ts';
import { toCsv } from '../table/csv.ts';
import type { ComparedFigure } from './fusionCompare.ts';
import type { EvolutionDigest, ModelDigest } from './modelDigest.ts';

export const EVOLUTION_FIGURE = 'evolution-box-mass';

interface Line {
  readonly model: ModelDigest;
  readonly evolution: EvolutionDigest;
  readonly boxMass: NonNullable<EvolutionDigest['boxMass']>;
}

/** The models whose evolve run measured box mass (their items have boxes). */
function linesOf(models: readonly ModelDigest[]): Line[] {
  return models.flatMap((model) => {
    const { evolution } = model;
    return evolution?.boxMass ? [{ model, evolution, boxMass: evolution.boxMass }] : [];
  });
}

function seriesOf({ model, evolution, boxMass }: Line): FusionCurveSeries {
  const labels = model.sweep.summary.labels;
  return {
    model: model.name,
    layers: boxMass.map((s) => s.layer),
    numLayers: model.layers,
    mean: boxMass.map((s) => s.mean),
    lower: boxMass.map((s) => s.lower),
    upper: boxMass.map((s) => s.upper),
    ...(evolution.chance ? { baseline: evolution.chance.mean, baselineLabel: `chance (${model.slug})` } : {}),
    fusionLayers: labels.fusionLayers,
    reviewLayers: labels.reviewLayers,
  };
}

/** Adds the figure (SVG, PNG, CSV) when a model has box mass to draw; returns it by name. */
export async function addEvolutionComparison(
  files: ReportFiles,
  models: readonly ModelDigest[],
): Promise<Record<string, ComparedFigure>> {
  const lines = linesOf(models);
  if (lines.length === 0) return {};
  const title = 'Where the answer position looks: attention share in the relevant box';
  const n = lines.map(({ model, boxMass }) => `${boxMass[0]?.n ?? 0} (${model.slug})`).join(', ');
  const option = fusionCurveOption({
    title,
    subtitle: [
      `n = ${n} questions with a box \u00b7 band: 95% bootstrap CI over questions`,
      '\u25c6 fusion layer of the sweep (numbered) \u00b7 shaded: review \u00b7 dashed: chance (uniform attention)',
    ].join('\n'),
    metricLabel: "share of the answer's image attention in the box",
    xAxis: 'depth',
    series: lines.map(seriesOf),
    fusionLabels: true,
  });
  await files.addChart(
    EVOLUTION_FIGURE,
    option,
    { width: FIGURE_SIZE.curve.width, height: 480 },
    lines.flatMap(({ model, evolution }) => [evolution.run, model.sweep.run]),
  );
  files.addFile(
    `${EVOLUTION_FIGURE}.csv`,
    toCsv(
      ['model', 'layers', 'run', 'layer', 'depth', 'box_mass', 'ci_lower', 'ci_upper', 'n', 'chance'],
      lines.flatMap(({ model, evolution, boxMass }) =>
        boxMass.map((s) => [
          model.slug,
          model.layers,
          evolution.run.id,
          s.layer,
          s.depth,
          s.mean,
          s.lower,
          s.upper,
          s.n,
          evolution.chance?.mean ?? null,
        ]),
      ),
    ),
  );
  return { [EVOLUTION_FIGURE]: { section: 'evolve', title, models: lines.map((l) => l.model.slug) } };
}
