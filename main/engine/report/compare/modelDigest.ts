/**
 * What the comparison of models reads of one model: the runs its own report shows (the newest
 * finished sweep, evolve and contrast runs, and the sweeps of the other masking modes beside the
 * newest sweep) and their summaries, read by the functions those report sections call
 * (summarizeSweep, summarizeEvolution, summarizeContrast; sweepCurve for what a masking curve draws),
 * so every number of compare.json is the number in that model's report.json or CSV. Read while the
 * model is open (the box-mass chance level lays its images out in tokens); plain data afterwards.
 */
import type { ContrastSummary, Interval, LayerStat, SweepSummary } from '../../../common/analysis.ts';
import type { HubSnapshot } from '../../../common/api/types.ts';
import { FusionError } from '../../../common/errors.ts';
import type { RunRow } from '../../../common/runs.ts';
import { summarizeContrast } from '../../analyses/contrast.ts';
import { boxMassChance, summarizeEvolution } from '../../analyses/evolve.ts';
import { summarizeSweep } from '../../analyses/sweep.ts';
import {
  fillOf,
  methodOf,
  modeOf,
  scoreName,
  sweepCurve,
  sweepRunsBeside,
  windowOf,
} from '../../analyses/sweepReport.ts';
import { normalizedDepth } from '../../experiments/metrics/index.ts';
import type { Workspace } from '../../store/workspace.ts';
import { footerLines } from '../provenance.ts';
import { ReportContext, type ReportModel } from '../reportContext.ts';
import { newestRun } from '../writeReport.ts';

/** A point of a curve as a figure draws it: x on decoder layer or on depth layer / (L − 1). */
export interface CurvePoint extends Interval {
  readonly layer: number;
  readonly depth: number;
}

/** One masking mode of one model, as its report's masking curve draws it. */
export interface SweepDigest {
  /**
   * The comparison's figure it belongs to: mode, the fill when not zero, `-window` for a window of
   * several layers (models of different depth knock out windows of different sizes).
   */
  readonly group: string;
  /** "hidden (zero)", "knockout ×2": the mode as the model's own report names it. */
  readonly method: string;
  readonly window: number;
  readonly run: RunRow;
  readonly summary: SweepSummary;
  /** baseline − drop, banded by the paired drop's interval (or the masked score's, for old summaries). */
  readonly curve: readonly CurvePoint[];
  readonly paired: boolean;
}

export interface EvolutionDigest {
  readonly run: RunRow;
  readonly samples: number;
  /** Box mass under uniform attention, as the model's report's evolution figure dashes it. */
  readonly chance: { readonly mean: number; readonly n: number } | null;
  /** The answer position's attention share inside the relevant box; null when no item had a box. */
  readonly boxMass: readonly (LayerStat & CurvePoint)[] | null;
}

export interface ModelDigest {
  /** The model's folder under the report (report/modelSlugs.ts). */
  readonly slug: string;
  /** Its name in legends and tables: slug, architecture and depth. */
  readonly name: string;
  readonly folder: string;
  readonly hub: HubSnapshot | null;
  readonly modelType: string;
  readonly layers: number;
  /** What the sweeps score, in words ("exact-match accuracy"). */
  readonly metricText: string;
  /** The newest sweep: its labels are the model's fusion and review layers (the report leads with it). */
  readonly sweep: SweepDigest;
  /** Every masking mode the report draws, the newest sweep among them; hidden first. */
  readonly sweeps: readonly SweepDigest[];
  readonly evolution: EvolutionDigest | null;
  readonly contrast: { readonly run: RunRow; readonly summary: ContrastSummary } | null;
  /** The newest run of each kind above, for provenance. */
  readonly runs: ReadonlyMap<string, RunRow>;
}

const COMPARED_KINDS = ['sweep', 'evolve', 'contrast'] as const;

/** The figure a sweep's curve joins: `hidden`, `hidden-resample`, `knockout`, `knockout-window`… */
function groupOf(run: RunRow): string {
  const fill = fillOf(run);
  return `${modeOf(run)}${fill && fill !== 'zero' ? `-${fill}` : ''}${windowOf(run) > 1 ? '-window' : ''}`;
}

function sweepDigest(run: RunRow, summary: SweepSummary): SweepDigest {
  const shape = sweepCurve(summary);
  const window = windowOf(run);
  return {
    group: groupOf(run),
    method: window > 1 ? `${methodOf(run)} \u00d7${window}` : methodOf(run),
    window,
    run,
    summary,
    curve: summary.masked.map((stat, i) => ({
      layer: stat.layer,
      depth: stat.depth,
      mean: shape.mean[i],
      lower: shape.lower[i],
      upper: shape.upper[i],
    })),
    paired: shape.paired,
  };
}

/** The sweeps the model's report draws beside its newest one; a mode without complete samples is left out. */
function sweepDigests(workspace: Workspace, own: RunRow, headline: SweepSummary) {
  return sweepRunsBeside(workspace, own).flatMap((run) => {
    if (run.id === own.id) return [sweepDigest(run, headline)];
    try {
      return [sweepDigest(run, summarizeSweep(workspace, run.id, { metric: 'score' }))];
    } catch {
      return [];
    }
  });
}

async function evolutionDigest(report: ReportContext, run: RunRow, layers: number): Promise<EvolutionDigest> {
  const summary = summarizeEvolution(report.workspace, run.id);
  const chance = await boxMassChance(report, await report.doneItems(run));
  const boxMass = summary.curves.box_mass?.map((stat) => ({
    ...stat,
    depth: normalizedDepth(stat.layer, layers),
  }));
  return { run, samples: summary.sampleCount, chance, boxMass: boxMass ?? null };
}

/**
 * Reads `model`'s newest finished runs in `workspace`. A model without a finished sweep is refused:
 * the comparison is about where each model fuses the image, which the sweep says.
 */
export async function digestModel(
  workspace: Workspace,
  model: ReportModel,
  slug: string,
): Promise<ModelDigest> {
  const runs = new Map<string, RunRow>();
  for (const kind of COMPARED_KINDS) {
    const run = newestRun(workspace, model, kind);
    if (run) runs.set(kind, run);
  }
  const sweepRun = runs.get('sweep');
  if (!sweepRun) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `the workspace has no finished sweep run of ${model.folder}: the comparison reads each model's fusion layers off its newest sweep`,
    );
  }
  const layers = model.spec.decoder.layers;
  const report = new ReportContext(workspace, model, 0, runs, footerLines);
  const headline = summarizeSweep(workspace, sweepRun.id);
  const sweeps = sweepDigests(workspace, sweepRun, headline);
  const evolveRun = runs.get('evolve');
  const contrastRun = runs.get('contrast');
  const info = model.info();
  return {
    slug,
    name: `${slug} (${model.spec.modelType}, ${layers} layers)`,
    folder: model.folder,
    hub: info.hub,
    modelType: model.spec.modelType,
    layers,
    metricText: await scoreName(report, sweepRun),
    sweep: sweeps.find((s) => s.run.id === sweepRun.id) ?? sweepDigest(sweepRun, headline),
    sweeps,
    evolution: evolveRun ? await evolutionDigest(report, evolveRun, layers) : null,
    contrast: contrastRun
      ? { run: contrastRun, summary: summarizeContrast(workspace, contrastRun.id) }
      : null,
    runs,
  };
}
