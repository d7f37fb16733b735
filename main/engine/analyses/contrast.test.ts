/**
 * The contrast summary on a constructed table: every refinement carries n, the paired difference with
 * its interval and the exact McNemar p (hand-computed here), and `mask` without a review layer is
 * reported as not applicable instead of a result.
 */
import { afterEach, describe, expect, it } from 'vitest';

import type { ContrastItemResult } from '../../common/analysis.ts';
import { newRun, TempDirs } from '../store/testing.ts';
import { Workspace } from '../store/workspace.ts';
import { summarizeContrast } from './contrast.ts';

const temp = new TempDirs();
afterEach(() => temp.removeAll());

/** 20 questions: crop fixes 1 and breaks 9 (the rest agree), mask changes nothing. */
function table(): ContrastItemResult[] {
  return Array.from({ length: 20 }, (_, i) => {
    const baselineScore = i < 10 ? 1 : 0;
    const crop = i < 9 ? 0 : i === 19 ? 1 : baselineScore; // 9 worsened (0..8), 1 improved (19)
    return {
      preLayer: 1,
      maskedTokens: [],
      crops: {},
      baselineAnswer: 'a',
      baselineScore,
      refined: {
        mask: { answer: 'a', score: baselineScore },
        crop: { answer: 'b', score: crop },
      },
    };
  });
}

function contrastRun(config: object): { ws: Workspace; runId: number } {
  const ws = Workspace.open(temp.make());
  const rows = table();
  const run = ws.createRun(
    newRun(
      { kind: 'contrast', config },
      rows.map((_, i) => `q${i}`),
    ),
  );
  rows.forEach((result, i) => ws.recordSample(run.id, { itemId: `q${i}`, status: 'ok', result }));
  return { ws, runId: run.id };
}

describe('summarizeContrast', () => {
  it('gives each refinement n, the paired difference with its interval and the exact McNemar p', () => {
    const { ws, runId } = contrastRun({ candidateLayers: [1], reviewLayer: 2, methods: ['mask', 'crop'] });
    try {
      const summary = summarizeContrast(ws, runId);
      const [none, mask, crop] = summary.methods;
      expect(none).toMatchObject({ method: 'none', mean: 0.5, n: 20, delta: null, p: null });
      expect(mask).toMatchObject({ method: 'mask', improved: 0, worsened: 0, p: 1 });
      expect(mask.delta).toEqual({ mean: 0, lower: 0, upper: 0 });
      expect(crop).toMatchObject({ method: 'crop', mean: 0.1, n: 20, improved: 1, worsened: 9 });
      // Exact two-sided: 2 · (C(10,0) + C(10,1)) / 2^10.
      expect(crop.p).toBeCloseTo(22 / 1024, 12);
      expect(crop.delta!.mean).toBeCloseTo(-0.4, 12);
      expect(crop.delta!.upper).toBeLessThan(0);
      expect(crop.delta!.lower).toBeGreaterThanOrEqual(-1);
      expect(summary.notApplicable).toEqual([]);
    } finally {
      ws.close();
    }
  });

  it('reports mask as not applicable when the sweep gave no review layer', () => {
    const { ws, runId } = contrastRun({ candidateLayers: [1], reviewLayer: null, methods: ['mask', 'crop'] });
    try {
      expect(summarizeContrast(ws, runId).notApplicable).toEqual([
        { method: 'mask', reason: 'the sweep found no review layer to mask at' },
      ]);
    } finally {
      ws.close();
    }
  });
});
