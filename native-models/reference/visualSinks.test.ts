/**
 * The reference's VAR on hand-computed numbers (the same as the engine's visualSinks.test.ts, reached
 * here by the post-softmax route): sink positions from RMS-normalised states, then one head's
 * probabilities redistributed.
 */
import { describe, expect, it } from 'vitest';

import { redistribute, sinkPositions, varEdits, type RedistributeEdit } from './visualSinks.ts';

const edit = (over: Partial<RedistributeEdit> = {}): RedistributeEdit => ({
  kind: 'redistribute',
  layer: 2,
  query: 5,
  imageSpan: [1, 5],
  firstToken: 0,
  tau: 1.5,
  rho: 0.5,
  minImage: 0.2,
  keep: 0.5,
  ...over,
});

describe('reference VAR', () => {
  it('finds the sink dimensions on the first token and the sink positions with them', () => {
    // Normalised: [1.2, 1.6, 0, 0], [0.39, 1.92, 0, 0.39], [2, 0, 0, 0], [1, 1, 1, 1] (ε aside).
    const h = [
      [3, 4, 0, 0],
      [1, 4.9, 0, 1],
      [8, 0, 0, 0],
      [1, 1, 1, 1],
    ].map((r) => Float64Array.from(r));
    expect([...sinkPositions(edit(), h)]).toEqual([0, 1]); // dimension 1 (1.6 > 1.5)
    expect([...sinkPositions(edit({ sinkDims: [0] }), h)]).toEqual([2]);
    expect([...sinkPositions(edit({ tau: 1.7 }), h)]).toEqual([]); // the first token has no dimension above 1.7
  });

  it('moves 1 − keep of the sinks’ weight onto the non-sink image keys, in proportion', () => {
    const p = Float64Array.from([0.4, 0.1, 0.2, 0.1, 0.1, 0.1]);
    expect(redistribute(edit(), new Set([0, 1]), p)).toBe(true);
    [0.2, 0.05, 0.325, 0.1625, 0.1625, 0.1].forEach((w, k) => expect(p[k]).toBeCloseTo(w, 12));
    const little = Float64Array.from([0.85, 0.05, 0.03, 0.03, 0.02, 0.02]);
    expect(redistribute(edit(), new Set([0, 1]), little)).toBe(false); // 0.13 on the image < 0.2
    expect(little[0]).toBe(0.85);
    expect(redistribute(edit(), new Set([0]), Float64Array.from([0.4, 0.1, 0.2, 0.1, 0.1, 0.1]))).toBe(false);
  });

  it('acts by default at every layer but the first two and the last, at the last position', () => {
    const edits = varEdits({ tau: 20, rho: 0.5, minImage: 0.2, keep: 0.6 }, [1, 5], 6, 9);
    expect(edits.map((e) => e.layer)).toEqual([2, 3, 4]);
    expect(edits.every((e) => e.query === 8 && e.firstToken === 0)).toBe(true);
    expect(varEdits({ tau: 20, rho: 0.5, minImage: 0.2, keep: 0.6 }, [0, 4], 6, 9)[0].firstToken).toBe(4);
  });
});
