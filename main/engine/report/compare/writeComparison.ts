/**
 * The comparison of several models' main jobs (`fusionscope analyze --model A,B`): the masking curves
 * of every model per masking mode and their attention share in the relevant box, both on normalised
 * depth, and their refinements in one table (each figure as SVG and PNG with the footers of the runs
 * it shows, its numbers as CSV), and compare.json: per model its fusion and review layers, baseline
 * and the numbers behind each figure, with the provenance of the runs they come from; the models that
 * failed, and why. Written into a temporary folder and renamed, as a model's report is.
 */
import packageJson from '../../../../package.json' with { type: 'json' };
import { FusionError } from '../../../common/errors.ts';
import { footerLines, reportProvenance } from '../provenance.ts';
import { ReportFiles } from '../reportFiles.ts';
import { addContrastComparison, CONTRAST_FIGURE } from './contrastCompare.ts';
import { addEvolutionComparison, EVOLUTION_FIGURE } from './evolutionCompare.ts';
import { addFusionComparison, fusionFigureName, type ComparedFigure } from './fusionCompare.ts';
import type { ModelDigest, SweepDigest } from './modelDigest.ts';

/** A model the comparison could not include: the name it was given by, and why. */
export interface FailedModel {
  readonly model: string;
  readonly slug: string;
  readonly error: { readonly code: string; readonly message: string };
}

function sweepJson(model: ModelDigest, sweep: SweepDigest) {
  const { summary } = sweep;
  // The model's first sweep of a group is the one its figure draws (fusionCompare.ts).
  const drawn = model.sweeps.find((s) => s.group === sweep.group) === sweep;
  return {
    figure: drawn ? fusionFigureName(sweep.group) : null,
    method: sweep.method,
    mode: summary.mode,
    fill: summary.fill ?? null,
    window: sweep.window,
    runId: sweep.run.id,
    metric: summary.metric,
    samples: summary.sampleCount,
    baseline: summary.baselineMean,
    fusionLayers: summary.labels.fusionLayers,
    reviewLayers: summary.labels.reviewLayers,
    plateauStart: summary.labels.plateauStart,
    band: sweep.paired ? 'paired bootstrap CI of the drop' : 'CI of the masked score',
    curve: sweep.curve.map((point, i) => ({
      ...point,
      drop: sweep.paired
        ? { mean: summary.drops[i].mean, lower: summary.drops[i].lower, upper: summary.drops[i].upper }
        : null,
    })),
  };
}

function modelJson(model: ModelDigest) {
  const headline = model.sweep.summary;
  const { evolution, contrast } = model;
  return {
    slug: model.slug,
    name: model.name,
    folder: model.folder,
    hub: model.hub,
    modelType: model.modelType,
    layers: model.layers,
    metric: headline.metric,
    metricText: model.metricText,
    baseline: headline.baselineMean,
    samples: headline.sampleCount,
    sweepRunId: model.sweep.run.id,
    fusionLayers: headline.labels.fusionLayers,
    reviewLayer: headline.labels.reviewLayers[0] ?? null,
    reviewLayers: headline.labels.reviewLayers,
    plateauStart: headline.labels.plateauStart,
    sweeps: model.sweeps.map((sweep) => sweepJson(model, sweep)),
    evolution: evolution && {
      figure: evolution.boxMass ? EVOLUTION_FIGURE : null,
      runId: evolution.run.id,
      samples: evolution.samples,
      boxMassChance: evolution.chance,
      boxMass: evolution.boxMass,
    },
    contrast: contrast && {
      figure: CONTRAST_FIGURE,
      runId: contrast.run.id,
      samples: contrast.summary.sampleCount,
      methods: contrast.summary.methods,
      notApplicable: contrast.summary.notApplicable,
    },
    provenance: reportProvenance(model.runs),
  };
}

/** A model's entry in compare.json. */
export type ComparedModel = ReturnType<typeof modelJson>;

/** compare.json. */
export interface CompareJson {
  readonly models: readonly ComparedModel[];
  readonly failed: readonly FailedModel[];
  readonly figures: Readonly<Record<string, ComparedFigure>>;
  readonly writtenBy: { readonly fusionscopeVersion: string };
}

/** Writes the comparison of `models` into `outDir` (replacing it); returns the files written. */
export async function writeComparison(
  models: readonly ModelDigest[],
  failed: readonly FailedModel[],
  outDir: string,
): Promise<string[]> {
  if (models.length === 0) throw new FusionError('BAD_ARGUMENT', 'a comparison needs at least one model');
  const files = new ReportFiles(footerLines);
  const figures = {
    ...(await addFusionComparison(files, models)),
    ...(await addEvolutionComparison(files, models)),
    ...addContrastComparison(files, models),
  };
  const json: CompareJson = {
    models: models.map(modelJson),
    failed,
    figures,
    writtenBy: { fusionscopeVersion: packageJson.version },
  };
  files.addFile('compare.json', `${JSON.stringify(json, null, 2)}\n`);
  return files.writeTo(outDir);
}
