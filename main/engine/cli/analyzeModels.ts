/**
 * `fusionscope analyze` on several models (`--model A,B`, or every embedded demo model): the main job
 * on each, in one workspace, several at once where the machine allows (cli/analyzeJobs.ts; each in a
 * process of its own, cli/analyzeInChildren.ts), each model's report written into OUT/<slug>/ as soon
 * as its runs are done, then their comparison into OUT/compare/. A model that fails is named and the others
 * go on, so nothing computed is lost; the command fails at the end, saying which. Ctrl-C stops the
 * whole job (its runs stay resumable).
 */
import { readdir, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';

import { ModelFormatError } from '../../../native-models/errors.ts';

import { errorToResult, FusionError } from '../../common/errors.ts';
import { resolveModelFolder } from '../model/resolveModelFolder.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { digestModel, type ModelDigest } from '../report/compare/modelDigest.ts';
import { writeComparison, type FailedModel } from '../report/compare/writeComparison.ts';
import { COMPARE_FOLDER, modelSlugs } from '../report/modelSlugs.ts';
import { writeReport } from '../report/writeReport.ts';
import type { Workspace } from '../store/workspace.ts';
import { modelOptions, type Flags } from './flags.ts';
import { terminalLine } from './terminalText.ts';

/** A model of the job: as the user named it, and its report's folder under OUT. */
export interface PlannedModel {
  readonly requested: string;
  /** The checkpoint folder it resolved to. */
  readonly folder: string;
  readonly slug: string;
}

/** The main job's runs on one model; false when one was cancelled (the job stops, resumable). */
export type MainJobRunner = (model: LoadedModel, workspace: Workspace, flags: Flags) => Promise<boolean>;

const say = (line: string) => process.stderr.write(`${terminalLine(line)}\n`);

/**
 * The main job is several runs per model, so `--resume ID` (one run) cannot say which of them to
 * continue; `auto` (each run resumes its newest unfinished one) is what a rerun does anyway.
 */
export function refuseOneRunResume(flags: Flags): void {
  if (flags.resume !== undefined && flags.resume !== 'auto') {
    throw new FusionError(
      'BAD_ARGUMENT',
      `--resume ${flags.resume} names one run, but the main job is several runs per model; leave it out (auto: each run resumes its newest unfinished one)`,
    );
  }
}

/**
 * Resolves every model before anything runs, so a mistyped name costs nothing, and gives each its
 * folder. A model named twice under two spellings (a path and its hub id) is refused.
 */
export async function planModels(models: readonly string[], flags: Flags): Promise<PlannedModel[]> {
  refuseOneRunResume(flags);
  const resolved = await Promise.all(
    models.map((model) => resolveModelFolder(model, { revision: flags.revision })),
  );
  resolved.forEach(({ folder }, i) => {
    const first = resolved.findIndex((r) => r.folder === folder);
    if (first !== i) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `--model names one checkpoint twice: ${JSON.stringify(models[first])} and ${JSON.stringify(models[i])}`,
      );
    }
  });
  const slugs = modelSlugs(resolved);
  return models.map((requested, i) => ({ requested, folder: resolved[i].folder, slug: slugs[i] }));
}

/**
 * Removes a one-model report left at OUT's top level (report.json, its figures and CSV) by an earlier
 * `analyze`, so OUT holds one layout; folders (other models' reports) are left as they are.
 */
async function removeSingleLayout(out: string): Promise<void> {
  const entries = await readdir(out, { withFileTypes: true }).catch(() => []);
  if (!entries.some((e) => e.isFile() && e.name === 'report.json')) return;
  const reportFiles = new Set(['.json', '.svg', '.png', '.csv']);
  for (const entry of entries) {
    if (entry.isFile() && reportFiles.has(extname(entry.name))) await rm(join(out, entry.name));
  }
}

/**
 * What became of one model: its digest for the comparison (read once every model is done, one at a
 * time, so that reading it never holds a model beside those still running), its failure, or Ctrl-C.
 */
export type Outcome =
  { digest: () => Promise<ModelDigest> } | { failed: FailedModel; error: unknown } | 'cancelled';

/** Analyses one model of the plan: runs its main job, writes its report into OUT/<slug>/, digests it. */
export type ModelAnalyzer = (planned: PlannedModel) => Promise<Outcome>;

/** A model's failure as the comparison lists it; Ctrl-C is not a failure. */
export function failedOutcome(planned: PlannedModel, error: unknown): Outcome {
  if (error instanceof FusionError && error.code === 'CANCELLED') return 'cancelled';
  return {
    failed: { model: planned.requested, slug: planned.slug, error: errorToResult(error).error },
    error,
  };
}

/** The analyzer that runs each model in this process, `runMainJob` on it. */
export function inThisProcess(
  workspace: Workspace,
  flags: Flags,
  out: string,
  runMainJob: MainJobRunner,
): ModelAnalyzer {
  return async (planned) => {
    try {
      const model = await openModel(planned.requested, modelOptions(flags));
      try {
        if (!(await runMainJob(model, workspace, flags))) return 'cancelled';
        const dir = join(out, planned.slug);
        const written = await writeReport(workspace, model, dir);
        process.stdout.write(
          `${terminalLine(`report of ${planned.requested} written to ${dir}/ (${written.length} files)`)}\n`,
        );
        const digest = await digestModel(workspace, model, planned.slug);
        return { digest: () => Promise.resolve(digest) };
      } finally {
        await model.close();
      }
    } catch (error) {
      return failedOutcome(planned, error);
    }
  };
}

/**
 * Every model of `plan` through `analyze`, `jobs` at a time (each model's line says when it starts),
 * then the comparison of those that succeeded, in the plan's order whatever order they finish in.
 */
export async function analyzeModels(
  plan: readonly PlannedModel[],
  out: string,
  analyze: ModelAnalyzer,
  jobs = 1,
): Promise<void> {
  const outcomes: Outcome[] = [];
  let next = 0;
  let stopped = false;
  const runNext = async () => {
    while (!stopped && next < plan.length) {
      const i = next++;
      const planned = plan[i];
      say(`model ${i + 1} of ${plan.length}: ${planned.requested} (report: ${join(out, planned.slug)}/)`);
      outcomes[i] = await analyze(planned).catch((error: unknown) => failedOutcome(planned, error));
      const outcome = outcomes[i];
      if (outcome === 'cancelled') stopped = true;
      else if ('failed' in outcome) {
        const { code, message } = outcome.failed.error;
        say(`error [${code}]: ${planned.requested}: ${message}; going on with the other models`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, runNext));
  if (stopped) {
    say('stopped; rerun the same command to resume');
    return;
  }
  const digests: ModelDigest[] = [];
  const failed: FailedModel[] = [];
  let firstError: unknown;
  const fail = (outcome: { failed: FailedModel; error: unknown }) => {
    failed.push(outcome.failed);
    firstError ??= outcome.error;
  };
  for (const [i, outcome] of outcomes.entries()) {
    if (outcome === 'cancelled') continue;
    if ('failed' in outcome) {
      fail(outcome);
      continue;
    }
    try {
      digests.push(await outcome.digest());
    } catch (error) {
      const failure = failedOutcome(plan[i], error);
      if (failure !== 'cancelled' && 'failed' in failure) fail(failure);
    }
  }
  if (digests.length > 0) {
    const dir = join(out, COMPARE_FOLDER);
    const written = await writeComparison(digests, failed, dir);
    await removeSingleLayout(out);
    process.stdout.write(
      `${terminalLine(`comparison of ${digests.map((d) => d.slug).join(', ')} written to ${dir}/ (${written.length} files)`)}\n`,
    );
  }
  if (failed.length > 0) {
    // The first failure's code, so the exit status says what kind of failure it was.
    throw new FusionError(
      firstError instanceof FusionError || firstError instanceof ModelFormatError
        ? firstError.code
        : 'INTERNAL',
      `${failed.length} of ${plan.length} models failed (${failed.map((f) => `${f.model}: [${f.error.code}] ${f.error.message}`).join('; ')})` +
        (digests.length > 0 ? `; the others' reports and their comparison are written` : ''),
    );
  }
}
