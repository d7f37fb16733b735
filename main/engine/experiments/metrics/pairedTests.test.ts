import { describe, expect, it } from 'vitest';

import { depthCurvePermutationTest, exactMcNemar, pairedDifference } from './pairedTests.ts';

/** Two-sided exact binomial p by direct enumeration (an independent formula: the full distribution). */
function binomialTwoSided(b: number, c: number): number {
  const n = b + c;
  const pmf = Array.from({ length: n + 1 }, (_, k) => {
    let v = 1;
    for (let i = 0; i < k; i++) v *= (n - i) / (i + 1);
    return v / 2 ** n;
  });
  const observed = pmf[Math.min(b, c)];
  // Sum of outcomes no more likely than the observed one (the symmetric case equals 2 × the tail).
  return Math.min(
    1,
    pmf.filter((p) => p <= observed * (1 + 1e-12)).reduce((a, p) => a + p, 0),
  );
}

describe('exactMcNemar', () => {
  it('matches hand-computed and enumerated values', () => {
    // b = 1, c = 9: 2 · (C(10,0) + C(10,1)) / 2^10 = 22/1024.
    expect(exactMcNemar(1, 9)).toBeCloseTo(22 / 1024, 12);
    expect(exactMcNemar(9, 1)).toBeCloseTo(22 / 1024, 12);
    // 3 improved, 15 worsened (crop on the demo: "hurt, p ≈ 0.008"): 2 · Σ_{k≤3} C(18,k) / 2^18.
    expect(exactMcNemar(3, 15)).toBeCloseTo((2 * (1 + 18 + 153 + 816)) / 2 ** 18, 12);
    expect(exactMcNemar(3, 15)).toBeCloseTo(0.00754, 4);
    for (const [b, c] of [
      [0, 5],
      [4, 6],
      [12, 30],
      [40, 41],
    ]) {
      expect(exactMcNemar(b, c)).toBeCloseTo(binomialTwoSided(b, c), 10);
    }
    expect(exactMcNemar(0, 0)).toBe(1);
    expect(exactMcNemar(7, 7)).toBe(1);
    expect(exactMcNemar(600, 400)).toBeLessThan(1e-9); // large n stays finite
    expect(() => exactMcNemar(-1, 2)).toThrow(/count/);
  });
});

describe('pairedDifference', () => {
  it('is the mean paired difference with an interval that excludes 0 for a consistent gain', () => {
    const base = Array.from({ length: 50 }, (_, i) => (i % 2) * 0.5);
    const better = base.map((v, i) => v + 0.1 + (i % 3) * 0.01);
    const d = pairedDifference(better, base);
    expect(d.mean).toBeCloseTo(0.1 + 0.01 * (49 / 50), 2);
    expect(d.lower).toBeGreaterThan(0);
    expect(d.n).toBe(50);
    expect(() => pairedDifference([1], [1, 2])).toThrow(/paired/);
  });
});

describe('depthCurvePermutationTest', () => {
  const curves = (count: number, depth: number, shift: number) =>
    Array.from({ length: count }, (_, s) =>
      Array.from({ length: depth }, (_, l) => Math.sin((l / (depth - 1)) * 3) + shift + ((s * 7) % 5) * 0.01),
    );

  it('finds a real gap between models of different depth, and none between samples of one model', () => {
    const gap = depthCurvePermutationTest(curves(20, 32, 0), curves(20, 28, 0.2), { permutations: 500 });
    expect(gap.statistic).toBeGreaterThan(0.15);
    expect(gap.p).toBeLessThan(0.01);
    const same = depthCurvePermutationTest(curves(20, 32, 0), curves(20, 28, 0), { permutations: 500 });
    expect(same.p).toBeGreaterThan(0.05);
    // The smallest p a run can give is 1 / (1 + permutations).
    expect(gap.p).toBeGreaterThanOrEqual(1 / 501);
  });
});
