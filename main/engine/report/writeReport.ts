/**
 * A model's report: for the newest run of each analysis that has a report section (the registry's
 * order), its figures (SVG + PNG at 2×, each with a provenance footer) and data (CSV), and report.json
 * with every section and the runs' provenance. Written into a temporary folder and renamed, so a failed
 * report leaves nothing half written.
 */
import { METHOD_LABELS } from '../../common/charts/labels.ts';
import { FusionError } from '../../common/errors.ts';
import type { RunRow } from '../../common/runs.ts';
import { ANALYSES } from '../analyses/registry.ts';
import type { Workspace } from '../store/workspace.ts';
import { footerLines, reportProvenance } from './provenance.ts';
import { ReportContext, type ReportModel } from './reportContext.ts';

export interface ReportOptions {
  /** Samples drawn as overlays (default 3, items with boxes first). */
  readonly samples?: number;
  /**
   * The run to report on (any status: the app exports the run on screen); the other analyses come
   * from the model's newest finished runs. Default: the newest finished run of every analysis.
   */
  readonly run?: RunRow;
}

export type { ReportModel };
export { METHOD_LABELS };

/** The run a report shows for `kind`: `given` when it is one, else the model's newest finished run. */
export function newestRun(
  workspace: Workspace,
  model: Pick<ReportModel, 'folder'>,
  kind: string,
  given?: RunRow,
): RunRow | undefined {
  if (given?.kind === kind) return given;
  return workspace.listRuns({ kind, status: 'done' }).find((run) => run.model.folder === model.folder);
}

/** Writes the report for `model`'s newest finished runs; returns the files written. */
export async function writeReport(
  workspace: Workspace,
  model: ReportModel,
  outDir: string,
  options: ReportOptions = {},
): Promise<string[]> {
  const reported = ANALYSES.filter((analysis) => analysis.report);
  const runs = new Map<string, RunRow>();
  for (const analysis of reported) {
    const run = newestRun(workspace, model, analysis.kind, options.run);
    if (run) runs.set(analysis.kind, run);
  }
  if (runs.size === 0) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `the workspace has no finished ${reported.map((a) => a.kind).join(', ')} run of ${model.folder}`,
    );
  }
  const report = new ReportContext(workspace, model, options.samples ?? 3, runs, footerLines);
  const json: Record<string, unknown> = {
    provenance: reportProvenance(runs),
    model: model.info(),
  };
  for (const analysis of reported) {
    const run = runs.get(analysis.kind);
    if (!run || !analysis.report) continue;
    const summary = analysis.summarize(workspace, run);
    report.setSummary(analysis.kind, summary);
    json[analysis.kind] = { ...(await analysis.report(report, run, summary)), provenance: run.provenance };
  }
  report.addFile('report.json', `${JSON.stringify(json, null, 2)}\n`);
  return report.writeTo(outDir);
}
