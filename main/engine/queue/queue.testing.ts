/** What the queue tests share: a run's stored rows, read so two workspaces can be compared. */
import type { Workspace } from '../store/workspace.ts';

/** Every sample row, metric and array of a run, keyed by item, in a form `toEqual` compares exactly. */
export function storedRun(workspace: Workspace, runId: number) {
  const samples = workspace.readSamples(runId).sort((a, b) => a.itemId.localeCompare(b.itemId));
  return {
    samples: samples.map((s) => ({ itemId: s.itemId, status: s.status, result: s.result, error: s.error })),
    metrics: Object.fromEntries(
      samples.map((s) => [
        s.itemId,
        workspace
          .sampleMetrics(runId, s.itemId)
          .map((m) => `${m.name}@${m.layer}=${m.value}`)
          .sort(),
      ]),
    ),
    arrays: Object.fromEntries(
      samples.map((s) => [
        s.itemId,
        workspace
          .arrayNames(runId, s.itemId)
          .sort()
          .map((name) => {
            const array = workspace.readArray(runId, s.itemId, name);
            return { name, shape: array?.shape, data: Array.from(array?.data ?? []) };
          }),
      ]),
    ),
  };
}
