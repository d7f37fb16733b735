/**
 * Dataset-level summaries of stored runs: per-layer curves with bootstrap intervals, the fusion/review
 * labels (paper §1), evolution curves (paper §2) and baseline-vs-refined tables (paper §3). Pure reads
 * of the workspace; the report and the app draw from these.
 */
import { FusionError } from '../../common/errors.ts';
import type { Workspace } from '../store/workspace.ts';
import { REFINEMENTS, type Refinement } from './contrast.ts';
import { BASELINE_PREFIX, type ContrastItemResult, type EvalItemResult } from './kinds.ts';
import {
  evaluatePope,
  popeAnswer,
  dropCurve,
  labelLayers,
  layerBootstrap,
  type LabelParams,
  type LayerStat,
} from './metrics/index.ts';
import type { ContrastSummary, EvalSummary, EvolutionSummary, SweepSummary } from '../../common/analysis.ts';
export type {
  ContrastSummary,
  EvalSummary,
  EvolutionSummary,
  MethodScore,
  SweepSummary,
} from '../../common/analysis.ts';

/** item → layer → value, for one metric of one run. */
function metricTable(workspace: Workspace, runId: number, name: string): Map<string, Map<number, number>> {
  const table = new Map<string, Map<number, number>>();
  for (const point of workspace.layerMetric(runId, name)) {
    point.itemIds.forEach((item, i) => {
      const row = table.get(item) ?? new Map<number, number>();
      row.set(point.layer, point.values[i]);
      table.set(item, row);
    });
  }
  return table;
}

export function summarizeSweep(
  workspace: Workspace,
  runId: number,
  options: { metric?: 'score' | 'gold_prob'; labels?: LabelParams } = {},
): SweepSummary {
  const metric = options.metric ?? 'score';
  const run = workspace.getRun(runId);
  if (run.kind !== 'sweep')
    throw new FusionError('BAD_ARGUMENT', `run ${runId} is a ${run.kind} run, not a sweep`);
  const table = metricTable(workspace, runId, metric);
  const baselines = metricTable(workspace, runId, `${BASELINE_PREFIX}${metric}`);
  const layers = [...new Set([...table.values()].flatMap((row) => [...row.keys()]))].sort((a, b) => a - b);
  // Only samples with the baseline and every layer enter the paired statistics.
  const complete = [...table.entries()].filter(
    ([item, row]) => baselines.has(item) && layers.every((l) => row.has(l)),
  );
  if (complete.length === 0 || layers.length === 0) {
    throw new FusionError('BAD_ARGUMENT', `run ${runId} has no complete samples with metric "${metric}"`);
  }
  const baseline = complete.map(([item]) => baselines.get(item)?.get(0) as number);
  const masked = complete.map(([, row]) => layers.map((l) => row.get(l) as number));
  const curve = dropCurve(baseline, masked);
  return {
    runId,
    metric,
    sampleCount: complete.length,
    layerCount: layers.length,
    baselineMean: curve.baselineMean,
    masked: layerBootstrap(masked),
    // Relative drops are undefined when nothing was answered right; absolute drops still mean something.
    labels: labelLayers(
      curve,
      curve.baselineMean > 0 ? options.labels : { ...options.labels, scale: 'absolute' },
    ),
  };
}

export function summarizeEvolution(workspace: Workspace, runId: number): EvolutionSummary {
  const run = workspace.getRun(runId);
  if (run.kind !== 'evolve')
    throw new FusionError('BAD_ARGUMENT', `run ${runId} is a ${run.kind} run, not an evolve run`);
  const curves: Record<string, LayerStat[]> = {};
  let sampleCount = 0;
  for (const name of workspace.metricNames(runId)) {
    const rows = [...metricTable(workspace, runId, name).values()];
    const layers = [...new Set(rows.flatMap((row) => [...row.keys()]))].sort((a, b) => a - b);
    const complete = rows.filter((row) => layers.every((l) => row.has(l)));
    if (complete.length === 0) continue;
    curves[name] = layerBootstrap(complete.map((row) => layers.map((l) => row.get(l) as number)));
    sampleCount = Math.max(sampleCount, complete.length);
  }
  return { runId, sampleCount, curves };
}

export function summarizeContrast(workspace: Workspace, runId: number): ContrastSummary {
  const run = workspace.getRun(runId);
  if (run.kind !== 'contrast') {
    throw new FusionError('BAD_ARGUMENT', `run ${runId} is a ${run.kind} run, not a contrast run`);
  }
  const rows = workspace
    .readSamples(runId)
    .filter((s) => s.status === 'ok')
    .map((s) => ({ itemId: s.itemId, ...(s.result as ContrastItemResult) }));
  const ran = REFINEMENTS.filter((m) => rows.some((r) => r.refined[m]));
  const scored = rows.filter(
    (r) => r.baselineScore !== null && ran.every((m) => r.refined[m]?.score != null),
  );
  const scoreOf = (r: (typeof scored)[number], method: 'none' | Refinement) =>
    (method === 'none' ? r.baselineScore : r.refined[method]?.score) as number;
  const methods = (['none', ...ran] as const).map((method) => ({
    method,
    mean: scored.length ? scored.reduce((a, r) => a + scoreOf(r, method), 0) / scored.length : NaN,
    improved: scored.filter((r) => scoreOf(r, method) > scoreOf(r, 'none')).length,
    worsened: scored.filter((r) => scoreOf(r, method) < scoreOf(r, 'none')).length,
  }));
  return { runId, sampleCount: rows.length, methods, rows };
}

/** Moved to main/common (the app shows the same defaults); re-exported for the engine's callers. */
export { layersFromSweep } from '../../common/sweepLayers.ts';

export function summarizeEval(workspace: Workspace, runId: number): EvalSummary {
  const run = workspace.getRun(runId);
  if (run.kind !== 'eval')
    throw new FusionError('BAD_ARGUMENT', `run ${runId} is a ${run.kind} run, not an eval run`);
  const rows = workspace
    .readSamples<EvalItemResult>(runId)
    .flatMap((s) => (s.status === 'ok' && s.result ? [s.result] : []));
  const scored = rows.filter((r) => r.score !== null);
  const byFamily: Record<string, { mean: number; n: number }> = {};
  for (const r of scored) {
    const f = (byFamily[r.family] ??= { mean: 0, n: 0 });
    f.mean += ((r.score as number) - f.mean) / ++f.n;
  }
  const pope = rows.filter((r) => r.metric === 'pope');
  return {
    runId,
    sampleCount: rows.length,
    overall: scored.length ? scored.reduce((a, r) => a + (r.score as number), 0) / scored.length : NaN,
    byFamily,
    // Free-text answers go through POPE's own yes/no extraction, as its evaluation script does.
    pope: pope.length
      ? evaluatePope(
          pope.map((r) => r.answer),
          pope.map((r) => popeAnswer(r.gold[0])),
        )
      : null,
  };
}
