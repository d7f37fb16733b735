/**
 * A run read as if it held only some of its items (one question family, a subset): every analysis's
 * summary, unchanged, then covers those items alone, so any curve or table can be broken down by
 * family without each analysis knowing about families.
 */
import type { Workspace } from '../store/workspace.ts';

/** `workspace` with the per-item reads (samples, per-layer metrics, completed items) limited to `items`. */
export function restrictedToItems(workspace: Workspace, items: ReadonlySet<string>): Workspace {
  const scoped: Partial<Workspace> = {
    readSamples: ((runId: number) =>
      workspace.readSamples(runId).filter((s) => items.has(s.itemId))) as Workspace['readSamples'],
    completedItems: (runId) => new Set([...workspace.completedItems(runId)].filter((id) => items.has(id))),
    layerMetric: (runId, name) =>
      workspace.layerMetric(runId, name).map((point) => {
        const keep = point.itemIds.map((id) => items.has(id));
        return {
          layer: point.layer,
          itemIds: point.itemIds.filter((_, i) => keep[i]),
          values: point.values.filter((_, i) => keep[i]),
        };
      }),
  };
  return new Proxy(workspace, {
    get(target, property) {
      if (Object.prototype.hasOwnProperty.call(scoped, property)) {
        return scoped[property as keyof Workspace];
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
