/**
 * VAR's arithmetic on constructed numbers, every expectation worked out by hand: RMS-normalised sink
 * detection, the image-centric head rule, and the redistribution with its pre-softmax bias (checked by
 * applying the bias to the logits log w and renormalising, in float64).
 */
import { describe, expect, it } from 'vitest';

import {
  largestNormalized,
  massiveDimensions,
  redistributionBias,
  sinkBound,
  sinkRows,
  type VarSettings,
} from './visualSinks.ts';

// [3, 4, 0, 0]: mean square 25/4, rms 2.5 → normalised [1.2, 1.6, 0, 0].
// [8, 0, 0, 0]: rms 4 → [2, 0, 0, 0] (a hair under 2: ε = 1e-6 in the mean square).
// [1, 1, 1, 1]: rms 1 → all 1.
const ROWS = Float32Array.from([3, 4, 0, 0, 8, 0, 0, 0, 1, 1, 1, 1]);

describe('sink detection', () => {
  it('reads massive dimensions off one state, strictly above τ', () => {
    expect(massiveDimensions([3, 4, 0, 0], 1.5)).toEqual([1]);
    expect(massiveDimensions([3, 4, 0, 0], 1)).toEqual([0, 1]);
    expect(massiveDimensions([3, 4, 0, 0], 1.6)).toEqual([]); // 1.6 is not above 1.6 (ε lowers it)
    expect(massiveDimensions([-3, 4, 0, 0], 1.1)).toEqual([0, 1]); // |value|
    expect(largestNormalized([3, 4, 0, 0])).toBeCloseTo(1.6, 6);
  });

  it('marks the rows whose normalised value in a sink dimension exceeds τ', () => {
    expect(sinkRows(ROWS, 4, [1], 1.5)).toEqual([0]);
    expect(sinkRows(ROWS, 4, [0], 1.5)).toEqual([1]);
    expect(sinkRows(ROWS, 4, [0, 1], 1.5)).toEqual([0, 1]);
    expect(sinkRows(ROWS, 4, [2], 0.5)).toEqual([2]);
    expect(sinkRows(ROWS, 4, [], 0)).toEqual([]);
  });

  it('bounds a normalised entry by √D, so τ ≥ √D finds nothing', () => {
    expect(sinkBound(4)).toBe(2);
    expect(largestNormalized([8, 0, 0, 0])).toBeLessThan(sinkBound(4));
    expect(largestNormalized([8, 0, 0, 0])).toBeGreaterThan(1.999999);
    expect(sinkRows(ROWS, 4, [0, 1, 2, 3], 2)).toEqual([]);
  });
});

/** softmax(log w + b) in float64: what the layer computes once the bias is added to its logits. */
function biased(w: readonly number[], b: ArrayLike<number>): number[] {
  const e = w.map((v, k) => Math.exp(Math.log(v) + b[k]));
  const sum = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / sum);
}

describe('redistribution', () => {
  // Keys 0..5, the image at [1, 5); sinks: key 0 (a text sink, say BOS) and image key 1.
  const span = [1, 5] as const;
  const sinks = [0, 1];
  const settings: VarSettings = { tau: 20, rho: 0.5, minImageAttention: 0.2, p: 0.5 };
  // Head 0: image 0.5, of it on sinks 0.1 (non-sink share 0.8): image-centric.
  // Head 1: image 0.13 < 0.2: left alone. Head 2: non-sink share 0.3 / 0.8 < 0.5: left alone.
  const heads = [
    [0.4, 0.1, 0.2, 0.1, 0.1, 0.1],
    [0.85, 0.05, 0.03, 0.03, 0.02, 0.02],
    [0.1, 0.5, 0.1, 0.1, 0.1, 0.1],
  ];
  const probs = Float64Array.from(heads.flat());

  it('chooses the image-centric heads and biases sinks by log p, the other image keys by log(1 + (1−p)S/I)', () => {
    const r = redistributionBias(probs, 3, sinks, span, settings)!;
    expect(r.heads).toEqual([0]);
    // S = 0.4 + 0.1, I = 0.2 + 0.1 + 0.1: image keys × (1 + 0.25 / 0.4) = 1.625.
    const expected = [Math.log(0.5), Math.log(0.5), Math.log(1.625), Math.log(1.625), Math.log(1.625), 0];
    Array.from(r.bias.subarray(0, 6)).forEach((b, k) => expect(b).toBeCloseTo(expected[k], 6));
    expect(Array.from(r.bias.subarray(6))).toEqual(new Array(12).fill(0));
  });

  it('the bias gives exactly the redistributed weights: sinks keep p, the rest goes to image keys pro rata', () => {
    const r = redistributionBias(probs, 3, sinks, span, settings)!;
    const after = biased(heads[0], r.bias.subarray(0, 6));
    const expected = [0.2, 0.05, 0.325, 0.1625, 0.1625, 0.1];
    after.forEach((w, k) => expect(w).toBeCloseTo(expected[k], 6));
    expect(after.reduce((a, w) => a + w, 0)).toBeCloseTo(1, 12);
    // A head left alone keeps its weights.
    biased(heads[1], r.bias.subarray(6, 12)).forEach((w, k) => expect(w).toBeCloseTo(heads[1][k], 12));
  });

  it('p = 0 takes everything off the sinks (−∞) and p = 1 changes nothing', () => {
    const all = redistributionBias(probs, 3, sinks, span, { ...settings, p: 0 })!;
    expect(all.bias[0]).toBe(-Infinity);
    // 0.5 moves onto I = 0.4: image keys × 2.25.
    const after = biased(heads[0], all.bias.subarray(0, 6));
    [0, 0, 0.45, 0.225, 0.225, 0.1].forEach((w, k) => expect(after[k]).toBeCloseTo(w, 6));
    const none = redistributionBias(probs, 3, sinks, span, { ...settings, p: 1 })!;
    expect(Array.from(none.bias).every((b) => b === 0)).toBe(true);
  });

  it('leaves a layer alone without an image sink, or when no head qualifies', () => {
    expect(redistributionBias(probs, 3, [0], span, settings)).toBeNull(); // only a text sink
    expect(redistributionBias(probs, 3, sinks, span, { ...settings, minImageAttention: 0.9 })).toBeNull();
    expect(redistributionBias(probs, 3, sinks, span, { ...settings, rho: 0.95 })).toBeNull();
  });

  it('ρ is the non-sink share a head needs (head 2 has 0.3 / 0.8 = 0.375)', () => {
    expect(redistributionBias(probs, 3, sinks, span, { ...settings, rho: 0.37 })!.heads).toEqual([0, 2]);
    expect(redistributionBias(probs, 3, sinks, span, { ...settings, rho: 0.38 })!.heads).toEqual([0]);
  });
});
