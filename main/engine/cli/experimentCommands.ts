/**
 * Dataset-scale commands: sweep, evolve, contrast (recorded in a workspace database, resumable) and
 * runs (the workspace's history). Defaults run on the embedded demo model and its test split.
 */
import { join } from 'node:path';

import { FusionError } from '../../common/errors.ts';
import { DEMO_DATASET_DIR } from '../demo.ts';
import { runExperiment, type ExperimentConfig } from '../experiments/experiment.ts';
import { contrastLayers, type ContrastLayers } from '../experiments/contrastLayers.ts';
import {
  summarizeContrast,
  summarizeEval,
  summarizeEvolution,
  summarizeSweep,
} from '../experiments/summaries.ts';
import type { EvolutionConfig } from '../experiments/evolution.ts';
import type { LoadedModel } from '../model/openModel.ts';
import { METHOD_LABELS, writeReport } from '../report/writeReport.ts';
import { Workspace } from '../store/workspace.ts';
import { parseIntList, parseNumber, withModel, type Flags } from './flags.ts';
import { progressReporter } from './progress.ts';
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

function oneInt(flags: Flags, name: keyof Flags, fallback: number): number {
  const value = flags[name];
  return typeof value === 'string' ? parseIntList(value, name)[0] : fallback;
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
        limit: flags.limit !== undefined ? oneInt(flags, 'limit', 0) : undefined,
      },
      experiment,
      {
        resume: resumeFlag(flags),
        signal: controller.signal,
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

export function sweepConfig(flags: Flags): Extract<ExperimentConfig, { kind: 'sweep' }> {
  const mode = flags.mode ?? 'hidden';
  if (mode !== 'hidden' && mode !== 'knockout')
    throw new FusionError('BAD_ARGUMENT', `--mode: "${mode}" is not one of hidden, knockout`);
  return {
    kind: 'sweep',
    config: {
      mode,
      window: oneInt(flags, 'window', 1),
      ...(mode === 'hidden'
        ? { scale: flags.scale !== undefined ? parseNumber(flags.scale, 'scale') : 0 }
        : {}),
      maxNewTokens: oneInt(flags, 'max-new-tokens', 8),
      ...(flags['prompt-suffix'] ? { promptSuffix: flags['prompt-suffix'] } : {}),
    },
  };
}

export async function sweepCommand(flags: Flags): Promise<void> {
  await withWorkspace(flags, (workspace) =>
    withModel(flags, async (model) => {
      const outcome = await runWithProgress(model, workspace, flags, sweepConfig(flags));
      if (outcome.status !== 'done') return;
      const summary = summarizeSweep(workspace, outcome.runId);
      process.stdout.write(
        `sweep run ${outcome.runId}: baseline ${summary.metric} ${summary.baselineMean.toFixed(3)} over ${summary.sampleCount} samples\n`,
      );
      for (const line of summary.labels.summary) process.stdout.write(`  ${line}\n`);
    }),
  );
}

export function evolveConfig(flags: Flags): EvolutionConfig {
  const rows = flags['attention-rows'] ?? 'last';
  if (rows !== 'last' && rows !== 'question') {
    throw new FusionError('BAD_ARGUMENT', `--attention-rows: "${rows}" is not one of last, question`);
  }
  return { rows, ...(flags['per-head'] ? { perHead: true } : {}) };
}

export async function evolveCommand(flags: Flags): Promise<void> {
  await withWorkspace(flags, (workspace) =>
    withModel(flags, async (model) => {
      const outcome = await runWithProgress(model, workspace, flags, {
        kind: 'evolve',
        config: evolveConfig(flags),
      });
      if (outcome.status !== 'done') return;
      const summary = summarizeEvolution(workspace, outcome.runId);
      for (const [name, curve] of Object.entries(summary.curves)) {
        process.stdout.write(`${name.padEnd(20)} ${curve.map((s) => s.mean.toFixed(2)).join(' ')}\n`);
      }
    }),
  );
}

/** Candidate and review layers: from the flags, else read off the newest finished sweep of this model. */
function contrastLayersFor(workspace: Workspace, model: LoadedModel, flags: Flags): ContrastLayers {
  return contrastLayers(workspace, model, {
    candidateLayers:
      flags['candidate-layers'] !== undefined
        ? parseIntList(flags['candidate-layers'], 'candidate-layers')
        : undefined,
    reviewLayer: flags['review-layer'] !== undefined ? oneInt(flags, 'review-layer', 0) : undefined,
  });
}

export async function contrastCommand(flags: Flags): Promise<void> {
  await withWorkspace(flags, (workspace) =>
    withModel(flags, async (model) => {
      const layers = contrastLayersFor(workspace, model, flags);
      const config = {
        ...layers,
        rho: flags.rho !== undefined ? parseNumber(flags.rho, 'rho') : 0.2,
        lambda: flags.lambda !== undefined ? parseNumber(flags.lambda, 'lambda') : 0.1,
        maxNewTokens: oneInt(flags, 'max-new-tokens', 8),
      };
      const outcome = await runWithProgress(model, workspace, flags, { kind: 'contrast', config });
      if (outcome.status !== 'done') return;
      const s = summarizeContrast(workspace, outcome.runId);
      process.stdout.write(
        `contrast run ${outcome.runId} (candidates ${config.candidateLayers.join(',')}, review layer ${config.reviewLayer}, ${s.sampleCount} samples):\n`,
      );
      for (const m of s.methods) {
        const diff = m.method === 'none' ? '' : ` (${m.improved} improved, ${m.worsened} worsened)`;
        process.stdout.write(`  ${METHOD_LABELS[m.method].padEnd(32)} ${m.mean.toFixed(3)}${diff}\n`);
      }
    }),
  );
}

export async function evalCommand(flags: Flags): Promise<void> {
  await withWorkspace(flags, (workspace) =>
    withModel(flags, async (model) => {
      const config = {
        maxNewTokens: oneInt(flags, 'max-new-tokens', 8),
        ...(flags['prompt-suffix'] ? { promptSuffix: flags['prompt-suffix'] } : {}),
      };
      const outcome = await runWithProgress(model, workspace, flags, { kind: 'eval', config });
      if (outcome.status !== 'done') return;
      const s = summarizeEval(workspace, outcome.runId);
      process.stdout.write(
        `eval run ${outcome.runId}: score ${s.overall.toFixed(3)} over ${s.sampleCount} samples\n`,
      );
      for (const [family, f] of Object.entries(s.byFamily)) {
        process.stdout.write(`  ${family.padEnd(16)} ${f.mean.toFixed(3)} (n=${f.n})\n`);
      }
      if (s.pope) {
        const p = s.pope;
        process.stdout.write(
          `  POPE: accuracy ${p.accuracy.toFixed(3)}, precision ${p.precision.toFixed(3)}, recall ${p.recall.toFixed(3)}, F1 ${p.f1.toFixed(3)}\n`,
        );
      }
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

export async function reportCommand(flags: Flags): Promise<void> {
  await withWorkspace(flags, (workspace) =>
    withModel(flags, async (model) => {
      const out = flags.out ?? DEFAULT_REPORT_DIR;
      const written = await writeReport(workspace, model, out);
      process.stdout.write(`report written to ${out}/: ${written.join(', ')}\n`);
    }),
  );
}

/** The headless main job: sweep, attention evolution and contrastive attention, then the report. */
export async function analyzeCommand(flags: Flags): Promise<void> {
  await withWorkspace(flags, (workspace) =>
    withModel(flags, async (model) => {
      const sweep = await runWithProgress(model, workspace, flags, sweepConfig(flags));
      if (sweep.status !== 'done') return;
      const labels = summarizeSweep(workspace, sweep.runId).labels;
      for (const line of labels.summary) process.stdout.write(`  ${line}\n`);
      const evolve = await runWithProgress(model, workspace, flags, {
        kind: 'evolve',
        config: evolveConfig(flags),
      });
      if (evolve.status !== 'done') return;
      const layers = contrastLayersFor(workspace, model, flags);
      const contrast = await runWithProgress(model, workspace, flags, {
        kind: 'contrast',
        config: { ...layers, rho: 0.2, lambda: 0.1, maxNewTokens: oneInt(flags, 'max-new-tokens', 8) },
      });
      if (contrast.status !== 'done') return;
      const out = flags.out ?? DEFAULT_REPORT_DIR;
      const written = await writeReport(workspace, model, out);
      process.stdout.write(`report written to ${out}/ (${written.length} files)\n`);
    }),
  );
}
