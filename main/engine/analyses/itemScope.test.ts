import { afterEach, describe, expect, it } from 'vitest';

import { newRun, TempDirs } from '../store/testing.ts';
import { Workspace } from '../store/workspace.ts';
import { restrictedToItems } from './itemScope.ts';
import { summarizeEvolution } from './evolve.ts';

const temp = new TempDirs();
afterEach(() => temp.removeAll());

describe('restrictedToItems', () => {
  it('limits samples, per-layer metrics and completed items, and passes every other read through', () => {
    const ws = Workspace.open(temp.make());
    try {
      const run = ws.createRun(newRun({ kind: 'evolve' }, ['a', 'b', 'c']));
      for (const [itemId, v] of [
        ['a', 0.1],
        ['b', 0.5],
        ['c', 0.3],
      ] as const) {
        ws.recordSample(run.id, {
          itemId,
          status: 'ok',
          result: { noiseTokens: [] },
          metrics: [0, 1].map((layer) => ({ layer, name: 'entropy', value: v + layer })),
        });
      }
      const scoped = restrictedToItems(ws, new Set(['a', 'c']));
      expect(scoped.readSamples(run.id).map((s) => s.itemId)).toEqual(['a', 'c']);
      expect([...scoped.completedItems(run.id)].sort()).toEqual(['a', 'c']);
      expect(scoped.layerMetric(run.id, 'entropy').map((p) => [p.layer, p.itemIds, p.values])).toEqual([
        [0, ['a', 'c'], [0.1, 0.3]],
        [1, ['a', 'c'], [1.1, 1.3]],
      ]);
      expect(scoped.getRun(run.id).id).toBe(run.id);
      // An analysis's own summary, unchanged, now covers the two items.
      const summary = summarizeEvolution(scoped, run.id);
      expect(summary.sampleCount).toBe(2);
      expect(summary.curves.entropy[0].mean).toBeCloseTo(0.2, 12);
      expect(summarizeEvolution(ws, run.id).curves.entropy[0].mean).toBeCloseTo(0.3, 12);
    } finally {
      ws.close();
    }
  });
});
