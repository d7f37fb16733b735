/**
 * Dataset-scale commands: one per analysis of the registry (recorded in a workspace database,
 * resumable; flags made from the analysis's settings), runs (the workspace's history), report and
 * analyze. Defaults run on the embedded demo model (analyze: every embedded demo model) and its test
 * split.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import { FusionError } from '../../common/errors.ts';
import type { Analysis } from '../analyses/analysis.ts';
import { analysisOf } from '../analyses/registry.ts';
import { FORMAT_NAMES, isFormatName, type OpenDatasetOptions } from '../datasets/index.ts';
import { DEMO_DATASET_DIR, DEMO_MODEL_DIRS, DEMO_MULTI_DATASET_DIR } from '../demo.ts';
import { runExperiment, type ExperimentConfig } from '../experiments/experiment.ts';
import type { LoadedModel } from '../model/openModel.ts';
import { writeReport } from '../report/writeReport.ts';
import { Workspace } from '../store/workspace.ts';
import { configFromFlags } from './analysisFlags.ts';
import { withChildProcesses } from './analyzeInChildren.ts';
import { analyzeJobs } from './analyzeJobs.ts';
import {
  analyzeModels,
  inThisProcess,
  planModels,
  refuseOneRunResume,
  type MainJobRunner,
} from './analyzeModels.ts';
import { modelList, modelOptions, parseIntList, positiveInt, withModel, type Flags } from './flags.ts';
import { progressReporter } from './progress.ts';
import { queueChoice } from './queueCommands.ts';
import { runIssues } from './runIssues.ts';
import { terminalLine } from './terminalText.ts';

export const DEFAULT_WORKSPACE = 'fusionscope-workspace';
export const DEFAULT_REPORT_DIR = 'fusionscope-report';

export function withWorkspace<T>(flags: Flags, body: (workspace: Workspace) => Promise<T>): Promise<T> {
  const workspace = Workspace.open(flags.workspace ?? DEFAULT_WORKSPACE);
  return body(workspace).finally(() => workspace.close());
}

function resumeFlag(flags: Flags): number | 'auto' {
  if (flags.resume === undefined || flags.resume === 'auto') return 'auto';
  return parseIntList(flags.resume, 'resume')[0];
}

function oneInt(flags: Flags, name: string, fallback: number): number {
  const value = flags[name];
  return typeof value === 'string' ? parseIntList(value, name)[0] : fallback;
}

/** `--dataset-format NAME`: an importer by name instead of detection from the files. */
function datasetFormatFlag(flags: Flags): { datasetOptions?: OpenDatasetOptions } {
  const format = flags['dataset-format'];
  if (format === undefined || format === 'auto') return {};
  if (!isFormatName(format)) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `--dataset-format ${JSON.stringify(format)} is not a dataset format; known: auto, ${FORMAT_NAMES.join(', ')}`,
    );
  }
  return { datasetOptions: { format } };
}

/** Runs one experiment with a progress bar; Ctrl-C cancels cleanly (the run stays resumable). */
export async function runWithProgress(
  model: LoadedModel,
  workspace: Workspace,
  flags: Flags,
  experiment: ExperimentConfig,
) {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new FusionError('CANCELLED', 'cancelled by the user'));
  process.once('SIGINT', onSigint);
  try {
    const outcome = await runExperiment(
      {
        model,
        workspace,
        dataset: flags.dataset ?? DEMO_DATASET_DIR,
        ...datasetFormatFlag(flags),
        limit: flags.limit !== undefined ? oneInt(flags, 'limit', 0) : undefined,
      },
      experiment,
      {
        resume: resumeFlag(flags),
        signal: controller.signal,
        queue: queueChoice(flags),
        onProgress: progressReporter(experiment.kind),
        onAttach: ({ runId, by }) =>
          process.stderr.write(
            terminalLine(
              `${experiment.kind} run ${runId} is already being computed by ${by}: following it ` +
                '(Ctrl-C stops following; the run goes on)',
            ) + '\n',
          ),
      },
    );
    for (const line of await runIssues(workspace, outcome)) process.stderr.write(`${terminalLine(line)}\n`);
    if (outcome.status === 'cancelled' && workspace.observeRun(outcome.runId)?.live)
      process.stderr.write(`stopped following run ${outcome.runId}; its runner goes on\n`);
    else if (outcome.status === 'cancelled')
      process.stderr.write(`run ${outcome.runId} cancelled; rerun the same command to resume\n`);
    return outcome;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Runs `analysis` with the settings the flags give; prints its summary when the run is done. */
async function runAnalysis(
  analysis: Analysis,
  model: LoadedModel,
  workspace: Workspace,
  flags: Flags,
): Promise<boolean> {
  const outcome = await runWithProgress(model, workspace, flags, {
    kind: analysis.kind,
    config: configFromFlags(analysis, flags),
  });
  if (outcome.status !== 'done') return false;
  const run = workspace.getRun(outcome.runId);
  for (const line of analysis.describe(analysis.summarize(workspace, run), run)) {
    process.stdout.write(`${terminalLine(line)}\n`);
  }
  return true;
}

/** `fusionscope <kind>`: one analysis over a dataset. */
export function analysisCommand(kind: string): (flags: Flags) => Promise<void> {
  return (flags) =>
    withWorkspace(flags, (workspace) =>
      withModel(flags, async (model) => {
        await runAnalysis(analysisOf(kind), model, workspace, flags);
      }),
    );
}

export async function runsCommand(flags: Flags): Promise<void> {
  // Listing writes nothing, so a workspace this user may not write is listed read-only.
  const workspace = Workspace.openForReading(flags.workspace ?? DEFAULT_WORKSPACE);
  try {
    for (const run of workspace.listRuns()) {
      process.stdout.write(
        `${String(run.id).padStart(4)}  ${run.kind.padEnd(8)} ${run.status.padEnd(11)} ${run.done}/${run.total}  ${run.model.folder}  ${run.dataset.name}\n`,
      );
    }
    process.stderr.write(`workspace: ${join(flags.workspace ?? DEFAULT_WORKSPACE)}\n`);
  } finally {
    workspace.close();
  }
}

/**
 * The report of the newest runs: of one model into OUT; of several (`--model A,B`, or the embedded
 * demo models the workspace has runs of) each into OUT/<slug>/ with their comparison, from the runs
 * the workspace already holds — nothing is computed; a model without runs is named in the error.
 */
export async function reportCommand(flags: Flags): Promise<void> {
  const runsAlreadyMade = async () => true;
  const model = flags.model ?? (await demoModelsWithRuns(flags)).join(',');
  await reportEachModel({ ...flags, model }, runsAlreadyMade);
}

/**
 * The embedded demo models the workspace has runs of (all of them when it has none, so the error names
 * them): after `sweep` on the default model, `report` reports that one instead of failing on the other.
 */
function demoModelsWithRuns(flags: Flags): Promise<readonly string[]> {
  return withWorkspace(flags, async (workspace) => {
    const folders = new Set(workspace.listRuns().map((run) => run.model.folder));
    const withRuns = DEMO_MODEL_DIRS.filter((folder) => folders.has(folder));
    return withRuns.length > 0 ? withRuns : DEMO_MODEL_DIRS;
  });
}

/**
 * The knockout window of the main job's windowed sweep: a quarter of the depth, at least 2 ("Cross-modal
 * Information Flow" knocks out 9 consecutive layers of 32, since a single layer's knockout can be
 * routed around by its neighbours).
 */
export function knockoutWindow(layers: number): number {
  return Math.min(layers, Math.max(2, Math.round(layers / 4)));
}

/**
 * The headless main job, in order: the sweep in both masking modes (paper §1; comparing them is part
 * of the analysis, since knocking out early layers can hurt for reasons other than fusion) with a
 * windowed knockout beside the single-layer one, attention evolution, contrastive attention. Knockout
 * runs first so that the paper's own mode, hidden, is the newest sweep: the one contrast reads its
 * layers off and the report's sweep section leads with. `--mode`, `--window` or `--fill` asks for that
 * sweep only (a fill other than zero would be refused by the knockout sweeps).
 */
export function mainJob(flags: Flags, layers: number): { kind: string; flags: Flags }[] {
  const chosen = ['mode', 'window', 'fill'].some((name) => typeof flags[name] === 'string');
  const sweeps: Flags[] = chosen
    ? [flags]
    : [
        { ...flags, mode: 'knockout' },
        ...(layers > 2 ? [{ ...flags, mode: 'knockout', window: String(knockoutWindow(layers)) }] : []),
        // Zeroing's control: another image's states, so a drop is not just off-distribution input.
        // Before the zeroing sweep, which stays the newest (contrast reads its layers off it).
        { ...flags, mode: 'hidden', fill: 'resample' },
        { ...flags, mode: 'hidden' },
      ];
  return [
    ...sweeps.map((sweepFlags) => ({ kind: 'sweep', flags: sweepFlags })),
    { kind: 'evolve', flags },
    { kind: 'contrast', flags },
    // On the demo, question contrast needs the split that asks several questions per image.
    { kind: 'question-contrast', flags: { ...flags, dataset: flags.dataset ?? DEMO_MULTI_DATASET_DIR } },
  ];
}

/** The models `analyze` runs on: `--model A,B`, else every embedded demo model. */
export function analyzedModels(flags: Flags): string[] {
  return modelList(flags, DEMO_MODEL_DIRS);
}

/**
 * The main job's runs on one model, in order; false when one was cancelled or Ctrl-C came between two
 * runs (the job stops there, resumable; each run also listens for Ctrl-C while it computes).
 */
async function runMainJob(model: LoadedModel, workspace: Workspace, flags: Flags): Promise<boolean> {
  let interrupted = false;
  const interrupt = () => {
    interrupted = true;
  };
  process.on('SIGINT', interrupt);
  try {
    for (const step of mainJob(flags, model.spec.decoder.layers)) {
      if (interrupted) return false;
      if (!(await runAnalysis(analysisOf(step.kind), model, workspace, step.flags))) return false;
    }
    return true;
  } finally {
    process.off('SIGINT', interrupt);
  }
}

/**
 * The headless main job (`mainJob`), then the report: on one model into OUT; on several (`--model
 * A,B`, or every embedded demo model) each model's into OUT/<slug>/ and their comparison into
 * OUT/compare/ (cli/analyzeModels.ts), as many models at once as `--jobs` or the machine allows
 * (cli/analyzeJobs.ts), each then in a process of its own with its share of the cores.
 */
export async function analyzeCommand(flags: Flags): Promise<void> {
  refuseOneRunResume(flags);
  // Checked here, not first in each model's process.
  modelOptions(flags);
  if (flags.jobs !== undefined) positiveInt(flags.jobs, 'jobs');
  const models = analyzedModels(flags);
  const out = flags.out ?? DEFAULT_REPORT_DIR;
  if (models.length < 2) return reportEachModel(flags, runMainJob);
  const plan = await planModels(models, flags);
  const jobs = await analyzeJobs(
    flags,
    plan.map((p) => p.folder),
  );
  await withWorkspace(flags, (workspace) => {
    if (jobs < 2) return analyzeModels(plan, out, inThisProcess(workspace, flags, out, runMainJob));
    const threads = Math.max(1, Math.floor(availableParallelism() / jobs));
    return withChildProcesses(workspace, flags, out, threads, (analyze) =>
      analyzeModels(plan, out, analyze, jobs),
    );
  });
}

/** `runs` on each model `analyzedModels` names, in this process, then the report(s) of what the workspace holds. */
async function reportEachModel(flags: Flags, runs: MainJobRunner): Promise<void> {
  const models = analyzedModels(flags);
  const out = flags.out ?? DEFAULT_REPORT_DIR;
  if (models.length > 1) {
    const plan = await planModels(models, flags);
    return withWorkspace(flags, (workspace) =>
      analyzeModels(plan, out, inThisProcess(workspace, flags, out, runs)),
    );
  }
  await withWorkspace(flags, (workspace) =>
    withModel({ ...flags, model: models[0] }, async (model) => {
      if (!(await runs(model, workspace, flags))) {
        process.stderr.write('stopped; rerun the same command to resume\n');
        return;
      }
      const written = await writeReport(workspace, model, out);
      process.stdout.write(`report written to ${out}/ (${written.length} files)\n`);
    }),
  );
}
