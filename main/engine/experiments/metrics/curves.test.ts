import { describe, expect, it } from 'vitest';

import { FusionError } from '../../../common/errors.ts';
import { Rng } from '../../synthetic/random.ts';
import {
  adjustPValues,
  bootstrapMean,
  dropCurve,
  labelLayers,
  layerBootstrap,
  marginalDropCurve,
  normalizedDepth,
  normalUpperTail,
  relativeChange,
  resampleByDepth,
  type DropCurve,
} from './curves.ts';

function expectBadArgument(run: () => unknown): void {
  expect(run).toThrow(FusionError);
  try {
    run();
  } catch (error) {
    expect((error as FusionError).code).toBe('BAD_ARGUMENT');
  }
}

const SAMPLES = 200;
const CORRECT = 160; // baseline accuracy 0.8

/**
 * A masking sweep over 200 questions (0/1 accuracy, 160 right unmasked). At layer l, round(160·r_l)
 * right answers turn wrong (r_l = relative drop; negative r turns wrong answers right), plus `noise`
 * answers flipping each way, which leaves the mean unchanged but gives the bootstrap something to
 * resample. The scaled mean drop is therefore exactly round(160·r_l)/160.
 */
function sweep(
  relativeDrops: readonly number[],
  seed: number,
  noise = 2,
): { baseline: number[]; masked: number[][] } {
  const baseline = Array.from({ length: SAMPLES }, (_, s) => (s < CORRECT ? 1 : 0));
  const masked = baseline.map((b) => Array<number>(relativeDrops.length).fill(b));
  const rng = new Rng(seed);
  relativeDrops.forEach((r, layer) => {
    const right = rng.shuffle(Array.from({ length: CORRECT }, (_, s) => s));
    const wrong = rng.shuffle(Array.from({ length: SAMPLES - CORRECT }, (_, s) => CORRECT + s));
    const k = Math.round(CORRECT * Math.abs(r));
    const hurt = r >= 0 ? k + noise : noise;
    const helped = r >= 0 ? noise : k + noise;
    for (const s of right.slice(0, hurt)) masked[s][layer] = 0;
    for (const s of wrong.slice(0, helped)) masked[s][layer] = 1;
  });
  return { baseline, masked };
}

/** Each answer independently flips with probability p (right → wrong and wrong → right). */
function noiseSweep(layers: number, p: number, seed: number): { baseline: number[]; masked: number[][] } {
  const rng = new Rng(seed);
  const baseline = Array.from({ length: SAMPLES }, (_, s) => (s < CORRECT ? 1 : 0));
  const masked = baseline.map((b) => Array.from({ length: layers }, () => (rng.chance(p) ? 1 - b : b)));
  return { baseline, masked };
}

function profile(length: number, drops: Record<number, number>): number[] {
  return Array.from({ length }, (_, l) => drops[l] ?? 0);
}

// LLaVA-1.5-like, 32 layers (paper §1): fusion at 2, 4, 8, 11–13; a tail of small effects at 14–17;
// quiet from 18 (tiny wobbles below the plateau threshold); review at 29.
const LLAVA = profile(32, {
  1: 0.00625,
  2: 0.3,
  3: 0.01,
  4: 0.2,
  6: 0.00625,
  8: 0.15,
  9: 0.0125,
  11: 0.25,
  12: 0.35,
  13: 0.2,
  14: 0.04,
  15: 0.035,
  16: 0.03,
  17: 0.025,
  19: 0.00625,
  22: 0.0125,
  25: 0.00625,
  29: 0.12,
  30: 0.00625,
});

// Qwen2-VL-like, 28 layers: fusion at 3, 5, 6, 9, quiet from 13, a small bump at 24 and no review.
const QWEN = profile(28, { 3: 0.25, 5: 0.15, 6: 0.2, 9: 0.1, 12: 0.03, 24: 0.03 });

describe('bootstrap', () => {
  it('gives means and percentile intervals per layer, reproducibly', () => {
    const rng = new Rng(7);
    const values = Array.from({ length: 400 }, () => [rng.chance(0.5) ? 1 : 0, 0.25]);
    const [coin, constant] = layerBootstrap(values, { resamples: 2000, seed: 3 });
    const mean = values.reduce((sum, v) => sum + v[0], 0) / 400;
    expect(coin.mean).toBeCloseTo(mean, 12);
    // Normal approximation: ±1.96·√(p(1−p)/n) ≈ ±0.049.
    const half = 1.96 * Math.sqrt((mean * (1 - mean)) / 400);
    expect(coin.lower).toBeCloseTo(mean - half, 2);
    expect(coin.upper).toBeCloseTo(mean + half, 2);
    expect([constant.mean, constant.lower, constant.upper]).toEqual([0.25, 0.25, 0.25]);
    expect(layerBootstrap(values, { seed: 3 })).toEqual(layerBootstrap(values, { seed: 3 }));
    expect(layerBootstrap(values, { seed: 4 })[0].lower).not.toBe(
      layerBootstrap(values, { seed: 3 })[0].lower,
    );
    const narrow = bootstrapMean(
      values.map((v) => v[0]),
      { confidence: 0.5, seed: 3 },
    );
    expect(narrow.upper - narrow.lower).toBeLessThan(coin.upper - coin.lower);
  });

  it('reports normalised depth', () => {
    const stats = layerBootstrap([[1, 2, 3]], { resamples: 10 });
    expect(stats.map((s) => s.depth)).toEqual([0, 0.5, 1]);
    expect(layerBootstrap([[1, 2, 3]], { resamples: 10, layerCount: 5 }).map((s) => s.depth)).toEqual([
      0, 0.25, 0.5,
    ]);
    expect(normalizedDepth(29, 32)).toBeCloseTo(29 / 31, 12);
    expect(normalizedDepth(0, 1)).toBe(0);
  });

  it('rejects bad input', () => {
    expectBadArgument(() => layerBootstrap([]));
    expectBadArgument(() => layerBootstrap([[1, 2], [1]]));
    expectBadArgument(() => layerBootstrap([[1, Number.NaN]]));
    expectBadArgument(() => layerBootstrap([[1]], { resamples: 0 }));
    expectBadArgument(() => layerBootstrap([[1]], { confidence: 1 }));
  });
});

describe('drops, relative change and depth resampling', () => {
  it('pairs drops per sample', () => {
    const curve = dropCurve(
      [1, 1, 0, 1],
      [
        [0, 1],
        [1, 1],
        [0, 0],
        [0, 1],
      ],
      { resamples: 50 },
    );
    expect(curve.baselineMean).toBe(0.75);
    expect(curve.layers.map((l) => l.mean)).toEqual([0.5, 0]);
    expectBadArgument(() => dropCurve([1], [[0], [1]]));
  });

  it('computes relative change against a constant or per-layer baseline', () => {
    const change = relativeChange([0.6, 0.8, 1], 0.8);
    [-0.25, 0, 0.25].forEach((v, i) => expect(change[i]).toBeCloseTo(v, 12));
    expect(Array.from(relativeChange([1, 3], [2, 2]))).toEqual([-0.5, 0.5]);
    expectBadArgument(() => relativeChange([1], 0));
    expectBadArgument(() => relativeChange([1, 2], [1]));
  });

  it('puts curves of different depths on one axis', () => {
    expect(Array.from(resampleByDepth([0, 10, 20], 5))).toEqual([0, 5, 10, 15, 20]);
    // The same linear trend sampled at 32 and at 28 layers agrees after resampling.
    const a = resampleByDepth(
      Array.from({ length: 32 }, (_, l) => l / 31),
      11,
    );
    const b = resampleByDepth(
      Array.from({ length: 28 }, (_, l) => l / 27),
      11,
    );
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 12));
    expectBadArgument(() => resampleByDepth([], 3));
    expectBadArgument(() => resampleByDepth([1], 1));
  });
});

describe('labelLayers', () => {
  it('labels a LLaVA-like curve as the paper reads it', () => {
    const { baseline, masked } = sweep(LLAVA, 1);
    const labels = labelLayers(dropCurve(baseline, masked, { seed: 1 }));
    expect(labels.params.plateauLength).toBe(6); // round(0.2 · 32)
    expect(labels.fusionLayers).toEqual([2, 4, 8, 11, 12, 13]);
    expect(labels.plateauStart).toBe(18);
    expect(labels.plateauStartDepth).toBeCloseTo(18 / 31, 12);
    expect(labels.reviewLayers).toEqual([29]);
    const byLayer = labels.layers;
    expect(byLayer[14].rule).toBe('below-min-drop'); // 6/160 = 3.75% < 5%
    expect(byLayer[20].label).toBe('plateau');
    expect(byLayer[29].reason).toMatch(/minReviewDrop/);
    expect(byLayer[29].depth).toBeCloseTo(29 / 31, 12);
    expect(byLayer[12].drop).toBeCloseTo(56 / 160, 12);
    expect(byLayer[12].lower).toBeGreaterThan(0);
    expect(labels.summary.join(' ')).toMatch(/plateau starts at layer 18/);
  });

  it('finds no review layer on a Qwen-like curve', () => {
    const { baseline, masked } = sweep(QWEN, 2);
    const labels = labelLayers(dropCurve(baseline, masked, { seed: 2 }));
    expect(labels.fusionLayers).toEqual([3, 5, 6, 9]);
    expect(labels.plateauStart).toBe(13);
    expect(labels.reviewLayers).toEqual([]);
    expect(labels.layers[24].rule).toBe('below-review-drop');
  });

  it('labels nothing on noise-only curves', () => {
    for (let seed = 0; seed < 10; seed++) {
      const { baseline, masked } = noiseSweep(32, 0.01, seed);
      const labels = labelLayers(dropCurve(baseline, masked, { seed, resamples: 500 }));
      expect(labels.fusionLayers).toEqual([]);
      expect(labels.reviewLayers).toEqual([]);
      expect(labels.plateauStart).toBeNull();
      expect(labels.summary[0]).toMatch(/no fusion layer/);
    }
  });

  it('does not start the plateau before fusion begins (quiet first layers)', () => {
    const late = profile(32, { 10: 0.2, 12: 0.3, 14: 0.15, 26: 0.1 });
    const { baseline, masked } = sweep(late, 3);
    const labels = labelLayers(dropCurve(baseline, masked, { seed: 3 }));
    expect(labels.fusionLayers).toEqual([10, 12, 14]);
    expect(labels.plateauStart).toBe(15);
    expect(labels.reviewLayers).toEqual([26]);
  });

  it('treats layers where masking helps as quiet', () => {
    const helps = [...LLAVA];
    helps[20] = -0.1;
    helps[21] = -0.05;
    const { baseline, masked } = sweep(helps, 4);
    const labels = labelLayers(dropCurve(baseline, masked, { seed: 4 }));
    expect(labels.plateauStart).toBe(18);
    expect(labels.layers[20].label).toBe('plateau');
    expect(labels.layers[20].drop).toBeCloseTo(-16 / 160, 12);
    expect(labels.reviewLayers).toEqual([29]);
  });

  it('follows its parameters', () => {
    const { baseline, masked } = sweep(LLAVA, 1);
    const curve = dropCurve(baseline, masked, { seed: 1 });
    // A 3-layer plateau fits in the gap 5–7: the later fusion layers become "review" layers.
    const short = labelLayers(curve, { plateauLength: 3 });
    expect(short.plateauStart).toBe(5);
    expect(short.fusionLayers).toEqual([2, 4]);
    expect(short.reviewLayers).toEqual([8, 11, 12, 13, 29]);
    // Absolute drops of 0.1 accuracy: layer 29 loses 19/200 = 0.095.
    const absolute = labelLayers(curve, { scale: 'absolute', minDrop: 0.1, plateauDrop: 0.02 });
    expect(absolute.fusionLayers).toEqual([2, 4, 8, 11, 12, 13]);
    expect(absolute.reviewLayers).toEqual([]);
    expect(absolute.layers[29].rule).toBe('below-review-drop');
    expect(labelLayers(curve, { minReviewDrop: 0.2 }).reviewLayers).toEqual([]);
  });

  it('without a plateau, labels fusion anywhere and review nowhere', () => {
    const busy = profile(32, Object.fromEntries(Array.from({ length: 16 }, (_, i) => [2 * i + 1, 0.2])));
    const { baseline, masked } = sweep(busy, 5);
    const labels = labelLayers(dropCurve(baseline, masked, { seed: 5 }));
    expect(labels.plateauStart).toBeNull();
    expect(labels.fusionLayers).toHaveLength(16);
    expect(labels.reviewLayers).toEqual([]);
    expect(labels.summary[0]).toMatch(/no plateau/);
  });

  it('requires significance and enough samples', () => {
    const stat = (layer: number, mean: number, lower: number, n = 100) => ({
      layer,
      depth: layer / 3,
      n,
      mean,
      lower,
      upper: 2 * mean - lower,
      p: lower > 0 ? 0.001 : 0.5,
    });
    const curve: DropCurve = {
      baselineMean: 1,
      layerCount: 4,
      confidence: 0.95,
      criterion: 'drop',
      layers: [stat(0, 0.3, 0.1), stat(1, 0.3, -0.05), stat(2, 0.3, 0.1, 3), stat(3, 0, -0.01)],
    };
    const labels = labelLayers(curve, { plateauLength: 1 });
    expect(labels.layers.map((l) => l.rule)).toEqual([
      'fusion',
      'not-significant',
      'too-few-samples',
      'plateau',
    ]);
    expect(labels.layers[1].reason).toMatch(/includes 0/);
  });

  it('reads a cumulative curve by its marginal drops: the step, not every layer before the plateau', () => {
    // Hidden-mode zeroing carries into later layers, so drop(l) = Σ_{k ≥ l} c_k: each sample's own
    // contributions c are large at layers 1 and 6 only (a late review step), with per-sample noise.
    const contributions = [0.01, 0.45, 0.01, 0.01, 0.01, 0.01, 0.2, 0, 0, 0];
    const baseline = Array.from({ length: 40 }, () => 1);
    const masked = baseline.map((b, s) =>
      contributions.map((_, l) => {
        const cumulative = contributions.slice(l).reduce((a, c) => a + c, 0);
        return b - cumulative + ((s % 5) - 2) * 0.002;
      }),
    );
    const plain = labelLayers(dropCurve(baseline, masked), { plateauLength: 3 });
    expect(plain.fusionLayers).toEqual([0, 1, 2, 3, 4, 5, 6]); // the cumulative trap: every early layer
    const marginal = labelLayers(marginalDropCurve(baseline, masked), { plateauLength: 3 });
    expect(marginal.params.criterion).toBe('marginal');
    expect(marginal.fusionLayers).toEqual([1]);
    expect(marginal.reviewLayers).toEqual([6]);
    expect(marginal.plateauStart).toBe(2);
    expect(marginal.layers[1].drop).toBeCloseTo(0.45, 2);
    expect(marginal.summary.at(-1)).toMatch(/marginal drop/);
    expect(() => labelLayers(dropCurve(baseline, masked), { criterion: 'marginal' })).toThrow(/drop curve/);
  });

  it('adjusts p-values across layers: Holm and Benjamini–Hochberg', () => {
    const p = [0.01, 0.04, 0.03, 0.005];
    // Holm: sorted 0.005, 0.01, 0.03, 0.04 × 4, 3, 2, 1 → 0.02, 0.03, 0.06, 0.06 (running max).
    expect(adjustPValues(p, 'holm').map((v) => Number(v.toFixed(10)))).toEqual([0.03, 0.06, 0.06, 0.02]);
    // BH: sorted × 4/1, 4/2, 4/3, 4/4 → 0.02, 0.02, 0.04, 0.04 (running min from the top).
    expect(adjustPValues(p, 'bh').map((v) => Number(v.toFixed(10)))).toEqual([0.02, 0.04, 0.04, 0.02]);
    expect(adjustPValues(p, 'none')).toEqual(p);
    expect(adjustPValues([0.9, 0.8], 'holm')).toEqual([1, 1]);
  });

  it('with a correction, a layer is significant only when its adjusted p clears the level', () => {
    const stat = (layer: number, p: number) => ({
      layer,
      depth: layer / 3,
      n: 100,
      mean: 0.2,
      lower: 0.01,
      upper: 0.4,
      p,
    });
    const curve: DropCurve = {
      baselineMean: 1,
      layerCount: 4,
      confidence: 0.95,
      criterion: 'drop',
      layers: [stat(0, 0.001), stat(1, 0.02), stat(2, 0.012), stat(3, 0.2)],
    };
    expect(labelLayers(curve, { plateauLength: 1 }).fusionLayers).toEqual([0, 1, 2, 3]);
    // Holm: 0.004, 0.04, 0.036, 0.2 → only layer 0 below 0.025.
    const holm = labelLayers(curve, { plateauLength: 1, correction: 'holm' });
    expect(holm.fusionLayers).toEqual([0]);
    expect(holm.layers[1].reason).toMatch(/Holm-adjusted p 0\.04/);
    // BH: sorted 0.001, 0.012, 0.02, 0.2 × 4/1, 4/2, 4/3, 4/4, running min from the top:
    // 0.004, 0.024, 0.0267, 0.2 → layers 0 and 2 (layer 1's 0.0267 misses 0.025).
    expect(labelLayers(curve, { plateauLength: 1, correction: 'bh' }).fusionLayers).toEqual([0, 2]);
  });

  it('gives each layer a one-sided normal-theory p from the bootstrap spread', () => {
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(normalUpperTail(1.959964)).toBeCloseTo(0.025, 6);
    expect(normalUpperTail(-1.644854)).toBeCloseTo(0.95, 6);
    const { baseline, masked } = sweep(QWEN, 2);
    const curve = dropCurve(baseline, masked, { resamples: 400 });
    for (const layer of curve.layers) {
      // Significant by the interval ⇔ (about) p below 0.025: the normal and percentile views agree away from the edge.
      if (layer.lower > 0.01) expect(layer.p).toBeLessThan(0.025);
      if (layer.upper < 0) expect(layer.p).toBeGreaterThan(0.5);
    }
  });

  it('rejects inconsistent parameters', () => {
    const { baseline, masked } = sweep(QWEN, 2);
    const curve = dropCurve(baseline, masked, { resamples: 20 });
    expectBadArgument(() => labelLayers(curve, { plateauDrop: 0.1 })); // above minDrop
    expectBadArgument(() => labelLayers(curve, { plateauLength: 0 }));
    expectBadArgument(() => labelLayers(curve, { plateauLength: { fraction: 0 } }));
    expectBadArgument(() => labelLayers(curve, { minDrop: 0 }));
    expectBadArgument(() => labelLayers({ ...curve, baselineMean: 0 }));
  });
});
