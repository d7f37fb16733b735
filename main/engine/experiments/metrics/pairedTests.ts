/**
 * Tests for comparisons on the same questions: a refinement against no refinement (exact McNemar on
 * the discordant pairs, paired-bootstrap interval of the mean difference), and two models' curves on
 * normalised depth (a permutation test). Each says how sure a difference is, which the means alone do
 * not.
 */
import { FusionError } from '../../../common/errors.ts';
import { bootstrapMean, resampleByDepth, type BootstrapOptions } from './curves.ts';
import { SeededRandom } from './random.ts';
import type { Interval } from '../../../common/analysis.ts';

/** ln C(n, k), summed in logs so large n stays finite. */
function logChoose(n: number, k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += Math.log(n - k + i) - Math.log(i);
  return sum;
}

/**
 * Exact two-sided McNemar test: under "no difference" each of the `improved + worsened` discordant
 * pairs goes either way with probability ½, so p = min(1, 2 · P(Binomial(n, ½) ≤ min(b, c))). For
 * graded scores (VQA's 0, ⅓, …, 1) "improved" and "worsened" are the questions whose score rose or fell:
 * the sign test, of which McNemar is the binary case.
 */
export function exactMcNemar(improved: number, worsened: number): number {
  for (const [name, v] of [
    ['improved', improved],
    ['worsened', worsened],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new FusionError('BAD_ARGUMENT', `exactMcNemar: ${name} must be a count, got ${v}`);
    }
  }
  const n = improved + worsened;
  if (n === 0) return 1;
  const k = Math.min(improved, worsened);
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
  return Math.min(1, 2 * tail);
}

/** Mean of `method − baseline` over paired samples with its percentile-bootstrap interval. */
export function pairedDifference(
  method: ArrayLike<number>,
  baseline: ArrayLike<number>,
  options: BootstrapOptions = {},
): Interval & { n: number } {
  if (method.length !== baseline.length || method.length === 0) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `pairedDifference needs the same non-zero number of paired values, got ${method.length} and ${baseline.length}`,
    );
  }
  return bootstrapMean(
    Float64Array.from({ length: method.length }, (_, i) => method[i] - baseline[i]),
    options,
  );
}

export interface CurveComparison {
  /** Mean over the depth grid of |mean curve A − mean curve B|. */
  readonly statistic: number;
  /** (1 + permutations at least as extreme) / (1 + permutations). */
  readonly p: number;
  readonly permutations: number;
  readonly points: number;
}

/**
 * Do two models' curves differ? Each sample's curve (per-sample values per layer) is read at `points`
 * evenly spaced normalised depths, so models of different depth share one axis; the statistic is the
 * mean absolute gap between the two mean curves; its null distribution comes from shuffling which
 * model each sample's curve belongs to (unpaired, so it holds whether or not the items match).
 */
export function depthCurvePermutationTest(
  a: readonly ArrayLike<number>[],
  b: readonly ArrayLike<number>[],
  options: { readonly points?: number; readonly permutations?: number; readonly seed?: number } = {},
): CurveComparison {
  const points = options.points ?? 21;
  const permutations = options.permutations ?? 2000;
  if (a.length === 0 || b.length === 0) {
    throw new FusionError('BAD_ARGUMENT', 'depthCurvePermutationTest needs samples from both models');
  }
  if (!Number.isInteger(permutations) || permutations < 1) {
    throw new FusionError('BAD_ARGUMENT', `permutations must be an integer ≥ 1, got ${permutations}`);
  }
  const pooled = [...a, ...b].map((curve) => resampleByDepth(curve, points));
  const statistic = (labels: readonly boolean[]): number => {
    const sumA = new Float64Array(points);
    const sumB = new Float64Array(points);
    let nA = 0;
    pooled.forEach((curve, i) => {
      const sum = labels[i] ? sumA : sumB;
      if (labels[i]) nA++;
      for (let d = 0; d < points; d++) sum[d] += curve[d];
    });
    const nB = pooled.length - nA;
    let gap = 0;
    for (let d = 0; d < points; d++) gap += Math.abs(sumA[d] / nA - sumB[d] / nB);
    return gap / points;
  };
  const labels = pooled.map((_, i) => i < a.length);
  const observed = statistic(labels);
  const rng = new SeededRandom(options.seed ?? 0);
  let extreme = 0;
  const shuffled = [...labels];
  for (let r = 0; r < permutations; r++) {
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    // A tolerance for ties in floating point: an identical split must count as "as extreme".
    if (statistic(shuffled) >= observed - 1e-12) extreme++;
  }
  return { statistic: observed, p: (1 + extreme) / (1 + permutations), permutations, points };
}
