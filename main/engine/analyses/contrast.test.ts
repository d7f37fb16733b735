/**
 * The contrast summary on a constructed table: every refinement carries n, the paired difference with
 * its interval and the exact McNemar p (hand-computed here), and `mask` without a review layer, or VAR
 * without sink tokens, is reported as not applicable instead of a result.
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

function contrastRun(config: object, rows = table()): { ws: Workspace; runId: number } {
  const ws = Workspace.open(temp.make());
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

  it('scores VAR beside the others and says on how many samples it moved attention', () => {
    const rows = table().map((r, i): ContrastItemResult => ({
      ...r,
      // VAR fixes questions 0 and 1 (baseline 1 there already: unchanged) and 10..12; it moved
      // attention on every third sample, 2 (layer, head) pairs each.
      refined: { ...r.refined, var: { answer: 'v', score: i >= 10 && i <= 12 ? 1 : r.baselineScore } },
      latencyMs: { none: 10, var: 14 + (i % 2) * 2 },
      var: { sinkDims: [1415, 2533], layers: i % 3 === 0 ? 1 : 0, heads: i % 3 === 0 ? 2 : 0, imageSinks: 3 },
    }));
    const { ws, runId } = contrastRun(
      { candidateLayers: [1], reviewLayer: 2, methods: ['crop', 'var'] },
      rows,
    );
    try {
      const summary = summarizeContrast(ws, runId);
      const v = summary.methods.find((m) => m.method === 'var')!;
      expect(v).toMatchObject({ n: 20, mean: 0.65, improved: 3, worsened: 0, latencyMs: 15 });
      expect(v.p).toBeCloseTo(2 / 8, 12); // two-sided sign test, 3 vs 0: 2 · 2⁻³
      expect(v.delta!.mean).toBeCloseTo(0.15, 12);
      // i % 3 === 0 for i in 0..19: 7 samples.
      expect(summary.varActivity).toEqual({ samples: 20, acted: 7, meanHeads: 14 / 20 });
      expect(summary.notApplicable).toEqual([]);
    } finally {
      ws.close();
    }
  });

  it('reports VAR as not applicable, with the samples’ reason, when no sample could run it', () => {
    const reason = 'no token can exceed τ = 20 after RMS normalisation in a 160-wide decoder';
    const rows = table().map((r) => ({ ...r, varNotApplicable: reason }));
    const { ws, runId } = contrastRun(
      { candidateLayers: [1], reviewLayer: 2, methods: ['crop', 'var'] },
      rows,
    );
    try {
      const summary = summarizeContrast(ws, runId);
      expect(summary.notApplicable).toEqual([{ method: 'var', reason }]);
      expect(summary.methods.map((m) => m.method)).toEqual(['none', 'mask', 'crop']);
      expect(summary.varActivity).toBeUndefined();
    } finally {
      ws.close();
    }
  });

  it('names the samples VAR skipped when it ran on the others, which every comparison then leaves out', () => {
    const rows = table().map((r, i): ContrastItemResult =>
      i < 15
        ? {
            ...r,
            refined: { ...r.refined, var: { answer: 'a', score: r.baselineScore } },
            var: { sinkDims: [7], layers: 0, heads: 0, imageSinks: 0 },
          }
        : { ...r, varNotApplicable: 'no sink dimensions' },
    );
    const { ws, runId } = contrastRun(
      { candidateLayers: [1], reviewLayer: 2, methods: ['crop', 'var'] },
      rows,
    );
    try {
      const summary = summarizeContrast(ws, runId);
      expect(summary.notApplicable).toEqual([
        { method: 'var', reason: 'on 5 of 20 samples, left out of every comparison: no sink dimensions' },
      ]);
      expect(summary.methods.every((m) => m.n === 15)).toBe(true);
      expect(summary.varActivity).toEqual({ samples: 15, acted: 0, meanHeads: 0 });
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
