/** Reads of a stored run that several analyses' summaries share. */
import { FusionError } from '../../common/errors.ts';
import type { RunRow } from '../../common/runs.ts';
import type { Workspace } from '../store/workspace.ts';

/** item → layer → value, for one metric of one run. */
export function metricTable(
  workspace: Workspace,
  runId: number,
  name: string,
): Map<string, Map<number, number>> {
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

/** The run, refused when it is another analysis's (a summary read for the wrong kind). */
export function runOfKind(workspace: Workspace, runId: number, kind: string): RunRow {
  const run = workspace.getRun(runId);
  if (run.kind !== kind) {
    const article = /^[aeiou]/.test(kind) ? 'an' : 'a';
    throw new FusionError('BAD_ARGUMENT', `run ${runId} is a ${run.kind} run, not ${article} ${kind} run`);
  }
  return run;
}
