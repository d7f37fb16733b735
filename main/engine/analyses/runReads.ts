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

/** One metric of a run as rows [item][layer], keeping only the items that have it at every layer. */
export function completeLayerRows(
  workspace: Workspace,
  runId: number,
  name: string,
): { layers: number[]; itemIds: string[]; rows: number[][] } {
  const table = metricTable(workspace, runId, name);
  const layers = [...new Set([...table.values()].flatMap((row) => [...row.keys()]))].sort((a, b) => a - b);
  const complete = [...table].filter(([, row]) => layers.every((l) => row.has(l)));
  return {
    layers,
    itemIds: complete.map(([item]) => item),
    rows: complete.map(([, row]) => layers.map((l) => row.get(l) as number)),
  };
}
