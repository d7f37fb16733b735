/**
 * Per-layer curves from the masking sweep (paper §1) and the rule that reads fusion and review layers
 * off them. The paper reads these layers off plotted curves by eye; FusionScope needs a rule that is
 * explicit, adjustable, and explains itself in the UI, so every verdict carries the rule that fired.
 *
 * Data layout: one row per sample, one column per curve point (masked layer, or window start), as the
 * sweep produces them (`samples[s][l]`). Drops are paired per sample: baseline[s] − masked[s][l].
 */
import { FusionError } from '../../../common/errors.ts';
import { SeededRandom } from './random.ts';
import type {
  Interval,
  LabelCorrection,
  LabelCriterion,
  LabelParams,
  LayerLabelling,
  LayerStat,
  LayerVerdict,
  ResolvedLabelParams,
} from '../../../common/analysis.ts';
export type {
  Interval,
  LabelParams,
  LayerLabel,
  LayerLabelling,
  LayerRule,
  LayerStat,
  LayerVerdict,
  ResolvedLabelParams,
} from '../../../common/analysis.ts';

function bad(message: string): never {
  throw new FusionError('BAD_ARGUMENT', message);
}

export interface BootstrapOptions {
  /** Bootstrap resamples B (default 1000). */
  readonly resamples?: number;
  /** Two-sided percentile-interval level (default 0.95). For a family-wise level over L layers, pass 1 − 0.05/L. */
  readonly confidence?: number;
  /** PRNG seed (default 0): the same inputs and seed give the same interval on every machine. */
  readonly seed?: number;
}

function resolveBootstrap(options: BootstrapOptions): {
  resamples: number;
  confidence: number;
  seed: number;
} {
  const resamples = options.resamples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(resamples) || resamples < 1)
    bad(`resamples must be an integer ≥ 1, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) bad(`confidence must be in (0, 1), got ${confidence}`);
  if (!Number.isFinite(seed)) bad(`seed must be a finite number, got ${seed}`);
  return { resamples, confidence, seed };
}

/** Quantile of sorted data with linear interpolation between order statistics (numpy's default, type 7). */
function quantileSorted(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export function normalizedDepth(layer: number, layerCount: number): number {
  if (!Number.isInteger(layerCount) || layerCount < 1)
    bad(`layerCount must be an integer ≥ 1, got ${layerCount}`);
  return layerCount === 1 ? 0 : layer / (layerCount - 1);
}

function checkMatrix(samples: readonly ArrayLike<number>[], what: string): number {
  if (samples.length === 0) bad(`${what}: no samples`);
  const points = samples[0].length;
  if (points === 0) bad(`${what}: samples have no layers`);
  samples.forEach((row, s) => {
    if (row.length !== points) bad(`${what}: sample ${s} has ${row.length} layers, sample 0 has ${points}`);
    for (let l = 0; l < points; l++) {
      if (!Number.isFinite(row[l])) bad(`${what}: sample ${s}, layer ${l} is ${row[l]}`);
    }
  });
  return points;
}

/**
 * Mean and percentile-bootstrap interval of a metric at every layer. Each resample draws n samples with
 * replacement once and uses them at every layer, so the whole curve is resampled together (the same
 * questions at every layer, as in the experiment).
 */
export function layerBootstrap(
  samples: readonly ArrayLike<number>[],
  options: BootstrapOptions & { layerCount?: number } = {},
): LayerStat[] {
  return bootstrapLayers(samples, options).map(({ p: _p, ...stat }) => stat);
}

/**
 * layerBootstrap with, per layer, the one-sided p of "mean ≤ 0": 1 − Φ(mean / se), se the bootstrap
 * standard error. A normal-theory p from the bootstrap's spread rather than a count of resamples ≤ 0,
 * which could not go below 1/(B+1) and so could never survive a correction over 32 layers.
 */
function bootstrapLayers(
  samples: readonly ArrayLike<number>[],
  options: BootstrapOptions & { layerCount?: number },
): (LayerStat & { p: number })[] {
  const points = checkMatrix(samples, 'layerBootstrap');
  const { resamples, confidence, seed } = resolveBootstrap(options);
  const layerCount = options.layerCount ?? points;
  if (!Number.isInteger(layerCount) || layerCount < points) {
    bad(`layerCount must be an integer ≥ the ${points} curve points, got ${layerCount}`);
  }
  const n = samples.length;
  const means = new Float64Array(points);
  for (const row of samples) for (let l = 0; l < points; l++) means[l] += row[l];
  for (let l = 0; l < points; l++) means[l] /= n;
  const boot = Array.from({ length: points }, () => new Float64Array(resamples));
  const rng = new SeededRandom(seed);
  const sums = new Float64Array(points);
  for (let b = 0; b < resamples; b++) {
    sums.fill(0);
    for (let i = 0; i < n; i++) {
      const row = samples[rng.int(n)];
      for (let l = 0; l < points; l++) sums[l] += row[l];
    }
    for (let l = 0; l < points; l++) boot[l][b] = sums[l] / n;
  }
  const alpha = (1 - confidence) / 2;
  return boot.map((values, layer) => {
    const mean = means[layer];
    let spread = 0;
    for (const v of values) spread += (v - mean) ** 2;
    const se = Math.sqrt(spread / Math.max(1, resamples - 1));
    values.sort();
    return {
      layer,
      depth: normalizedDepth(layer, layerCount),
      n,
      mean,
      lower: quantileSorted(values, alpha),
      upper: quantileSorted(values, 1 - alpha),
      p: se > 0 ? normalUpperTail(mean / se) : mean > 0 ? 0 : 1,
    };
  });
}

/** P(Z > z) for a standard normal Z. */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * Complementary error function: Numerical Recipes' erfcc (Chebyshev fit), fractional error < 1.2e-7
 * everywhere — ample for p-values compared with 0.05-level thresholds.
 */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Mean and percentile-bootstrap interval of one series (e.g. a method's per-question accuracy). */
export function bootstrapMean(
  values: ArrayLike<number>,
  options: BootstrapOptions = {},
): Interval & { n: number } {
  const [stat] = layerBootstrap(
    Array.from(values, (v) => [v]),
    options,
  );
  return { mean: stat.mean, lower: stat.lower, upper: stat.upper, n: stat.n };
}

export interface DropCurve {
  /** Mean of the unmasked metric over the samples. */
  readonly baselineMean: number;
  /**
   * Per curve point, the mean of the tested statistic with its bootstrap interval and one-sided p:
   * the drop (baseline − masked; positive = masking hurt), or with criterion 'marginal' the layer's
   * own share drop(l) − drop(l+1).
   */
  readonly layers: readonly (LayerStat & { readonly p: number })[];
  readonly layerCount: number;
  readonly confidence: number;
  readonly criterion: LabelCriterion;
}

/** Per-sample paired drops baseline[s] − masked[s][l], checked. */
function pairedDrops(baseline: ArrayLike<number>, masked: readonly ArrayLike<number>[]): Float64Array[] {
  const points = checkMatrix(masked, 'dropCurve');
  if (baseline.length !== masked.length) {
    bad(`dropCurve: ${baseline.length} baseline values for ${masked.length} samples`);
  }
  return masked.map((row, s) => {
    const b = baseline[s];
    if (!Number.isFinite(b)) bad(`dropCurve: baseline of sample ${s} is ${b}`);
    return Float64Array.from({ length: points }, (_, l) => b - row[l]);
  });
}

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** The bootstrapped curve of per-sample `rows` (drops or their marginals) over `baseline`'s samples. */
function curveOf(
  baseline: ArrayLike<number>,
  rows: readonly Float64Array[],
  options: BootstrapOptions & { layerCount?: number },
  criterion: LabelCriterion,
): DropCurve {
  return {
    baselineMean: mean(baseline),
    layers: bootstrapLayers(rows, options),
    layerCount: options.layerCount ?? rows[0].length,
    confidence: resolveBootstrap(options).confidence,
    criterion,
  };
}

/**
 * Per-sample paired drops baseline[s] − masked[s][l], then the bootstrap. Positive = masking hurt.
 * `layerCount` (default: the number of curve points) sets the depth scale when the sweep masks windows.
 */
export function dropCurve(
  baseline: ArrayLike<number>,
  masked: readonly ArrayLike<number>[],
  options: BootstrapOptions & { layerCount?: number } = {},
): DropCurve {
  return curveOf(baseline, pairedDrops(baseline, masked), options, 'drop');
}

/**
 * The marginal curve of a cumulative intervention: per sample, drop(l) − drop(l+1) (the last point
 * keeps its drop), bootstrapped as pairs. When removing the image at l also removes it from every later
 * layer (hidden mode), drop(l) counts what layers l.. together contribute; the difference is layer l's
 * own share, so a fusion layer is a step in the curve, not every layer before the plateau.
 */
export function marginalDropCurve(
  baseline: ArrayLike<number>,
  masked: readonly ArrayLike<number>[],
  options: BootstrapOptions & { layerCount?: number } = {},
): DropCurve {
  const marginal = pairedDrops(baseline, masked).map((row) =>
    Float64Array.from(row, (d, l) => (l + 1 < row.length ? d - row[l + 1] : d)),
  );
  return curveOf(baseline, marginal, options, 'marginal');
}

/**
 * p-values adjusted for testing every layer: Holm's step-down (family-wise error) or
 * Benjamini–Hochberg's step-up (false discovery rate); 'none' returns them as they are.
 */
export function adjustPValues(p: readonly number[], correction: LabelCorrection): number[] {
  const m = p.length;
  if (correction === 'none' || m === 0) return [...p];
  const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
  const adjusted = new Array<number>(m);
  if (correction === 'holm') {
    let running = 0;
    order.forEach((i, rank) => {
      running = Math.max(running, Math.min(1, (m - rank) * p[i]));
      adjusted[i] = running;
    });
  } else {
    let running = 1;
    for (let rank = m - 1; rank >= 0; rank--) {
      const i = order[rank];
      running = Math.min(running, (m / (rank + 1)) * p[i]);
      adjusted[i] = Math.min(1, running);
    }
  }
  return adjusted;
}

/** (value − baseline) / baseline per layer; baseline a constant or one value per layer. */
export function relativeChange(
  values: ArrayLike<number>,
  baseline: number | ArrayLike<number>,
): Float64Array {
  if (typeof baseline !== 'number' && baseline.length !== values.length) {
    bad(`relativeChange: ${values.length} values but ${baseline.length} baselines`);
  }
  return Float64Array.from({ length: values.length }, (_, i) => {
    const b = typeof baseline === 'number' ? baseline : baseline[i];
    if (b === 0 || !Number.isFinite(b)) bad(`relativeChange: baseline must be finite and non-zero, got ${b}`);
    return (values[i] - b) / b;
  });
}

/**
 * The curve read at `points` evenly spaced depths 0..1 (linear interpolation between layers), so that
 * models of different depth (32-layer LLaVA, 28-layer Qwen2-VL) can be drawn and averaged on one axis.
 */
export function resampleByDepth(values: ArrayLike<number>, points: number): Float64Array {
  if (values.length === 0) bad('resampleByDepth: empty curve');
  if (!Number.isInteger(points) || points < 2) bad(`points must be an integer ≥ 2, got ${points}`);
  const last = values.length - 1;
  return Float64Array.from({ length: points }, (_, i) => {
    const x = (i / (points - 1)) * last;
    const lo = Math.floor(x);
    const hi = Math.min(lo + 1, last);
    return values[lo] + (x - lo) * (values[hi] - values[lo]);
  });
}

// ---------------------------------------------------------------------------------------------------
// Fusion / review labelling

function resolveLabelParams(params: LabelParams, curve: DropCurve, points: number): ResolvedLabelParams {
  const { layerCount, criterion } = curve;
  if (params.criterion !== undefined && params.criterion !== criterion) {
    bad(`labels asked for criterion '${params.criterion}' but the curve is the ${criterion} curve`);
  }
  const correction = params.correction ?? 'none';
  if (correction !== 'none' && correction !== 'holm' && correction !== 'bh') {
    bad(`correction must be 'none', 'holm' or 'bh', got ${String(correction)}`);
  }
  const scale = params.scale ?? 'relative';
  const minDrop = params.minDrop ?? 0.05;
  const plateauDrop = params.plateauDrop ?? 0.02;
  const minReviewDrop = params.minReviewDrop ?? minDrop;
  const minSamples = params.minSamples ?? 5;
  const length = params.plateauLength ?? { fraction: 0.2 };
  let plateauLength: number;
  if (typeof length === 'number') {
    plateauLength = length;
  } else {
    if (!(length.fraction > 0 && length.fraction <= 1)) {
      bad(`plateauLength.fraction must be in (0, 1], got ${length.fraction}`);
    }
    plateauLength = Math.max(1, Math.round(length.fraction * layerCount));
  }
  if (scale !== 'relative' && scale !== 'absolute')
    bad(`scale must be 'relative' or 'absolute', got ${scale}`);
  if (!(minDrop > 0 && Number.isFinite(minDrop))) bad(`minDrop must be > 0, got ${minDrop}`);
  if (!(minReviewDrop > 0 && Number.isFinite(minReviewDrop)))
    bad(`minReviewDrop must be > 0, got ${minReviewDrop}`);
  if (!(plateauDrop >= 0 && plateauDrop <= minDrop && plateauDrop <= minReviewDrop)) {
    bad(`plateauDrop must be in [0, min(minDrop, minReviewDrop)], got ${plateauDrop}`);
  }
  if (!Number.isInteger(plateauLength) || plateauLength < 1 || plateauLength > points) {
    bad(`plateauLength must be an integer in 1..${points} layers, got ${plateauLength}`);
  }
  if (!Number.isInteger(minSamples) || minSamples < 1)
    bad(`minSamples must be an integer ≥ 1, got ${minSamples}`);
  return { criterion, correction, scale, minDrop, plateauDrop, plateauLength, minReviewDrop, minSamples };
}

/**
 * Labels every curve point of `curve` — the drop curve, or for a cumulative intervention its marginal
 * curve (the "drop" below is then the layer's own share, drop(l) − drop(l+1)):
 * - significant: n ≥ minSamples and the drop interval's lower bound > 0 (with a correction: the
 *   Holm- or BH-adjusted one-sided p below the interval's one-sided level);
 * - plateau start p: the first layer after the first fusion-qualifying layer (scaled drop ≥ minDrop and
 *   significant) such that layers p..p+plateauLength−1 all have scaled drop < plateauDrop; "after fusion"
 *   so that a model that starts fusing late does not get a plateau at layer 0;
 * - fusion layer: before p (or anywhere, when there is no plateau), scaled drop ≥ minDrop, significant;
 * - review layer: at or after p, scaled drop ≥ minReviewDrop, significant (none when there is no plateau);
 * - otherwise 'plateau' (after p, quiet) or 'none', with the rule that failed.
 * Paper §1: LLaVA-1.5 fuses at 2, 4, 8, 11–13, stops reacting after ~18–20 and reviews at ~29; Qwen2-VL
 * and Qwen2.5-VL show no review layer.
 */
export function labelLayers(curve: DropCurve, params: LabelParams = {}): LayerLabelling {
  const points = curve.layers.length;
  if (points === 0) bad('labelLayers: empty curve');
  const p = resolveLabelParams(params, curve, points);
  let divisor = 1;
  if (p.scale === 'relative') {
    if (!(curve.baselineMean > 0)) {
      bad(`relative drops need a positive baseline mean, got ${curve.baselineMean}; use scale 'absolute'`);
    }
    divisor = curve.baselineMean;
  }
  // Without a correction a drop is significant when its interval excludes 0; with one, when its
  // adjusted one-sided p is below the interval's one-sided level (0.025 for a 95% interval).
  const alpha = (1 - curve.confidence) / 2;
  const adjusted = adjustPValues(
    curve.layers.map((stat) => stat.p),
    p.correction,
  );
  const stats = curve.layers.map((stat, i) => ({
    stat,
    drop: stat.mean / divisor,
    lower: stat.lower / divisor,
    upper: stat.upper / divisor,
    p: adjusted[i],
    enoughSamples: stat.n >= p.minSamples,
    significant: stat.n >= p.minSamples && (p.correction === 'none' ? stat.lower > 0 : adjusted[i] < alpha),
  }));
  const fmt = (v: number): string =>
    p.scale === 'relative' ? `${(v * 100).toFixed(1)}%` : Number(v.toPrecision(3)).toString();

  const summary: string[] = [];
  const firstFusion = stats.findIndex((s) => s.significant && s.drop >= p.minDrop);
  let plateauStart: number | null = null;
  if (firstFusion === -1) {
    summary.push(
      `no layer has a significant drop ≥ ${fmt(p.minDrop)}: no fusion layer, so no plateau is searched`,
    );
  } else {
    for (let start = firstFusion + 1; start + p.plateauLength <= points; start++) {
      let quiet = true;
      for (let l = start; l < start + p.plateauLength && quiet; l++) quiet = stats[l].drop < p.plateauDrop;
      if (quiet) {
        plateauStart = start;
        break;
      }
    }
    const length = `${p.plateauLength} consecutive layers with drop < ${fmt(p.plateauDrop)}`;
    summary.push(
      plateauStart === null
        ? `no ${length} after layer ${firstFusion} (the first fusion layer): no plateau, so no review layer`
        : `plateau starts at layer ${plateauStart} (depth ${normalizedDepth(plateauStart, curve.layerCount).toFixed(2)}): first ${length} after layer ${firstFusion}`,
    );
  }

  const layers = stats.map((s): LayerVerdict => {
    const { layer, depth } = s.stat;
    const base = {
      layer,
      depth,
      drop: s.drop,
      lower: s.lower,
      upper: s.upper,
      significant: s.significant,
      p: s.p,
    };
    const what = p.criterion === 'marginal' ? 'marginal drop' : 'drop';
    const tested =
      p.correction === 'none'
        ? `${Math.round(curve.confidence * 100)}% interval [${fmt(s.lower)}, ${fmt(s.upper)}]`
        : `${p.correction === 'holm' ? 'Holm' : 'BH'}-adjusted p ${s.p.toPrecision(2)}`;
    const interval = tested;
    const insignificant = (): LayerVerdict =>
      s.enoughSamples
        ? {
            ...base,
            label: 'none',
            rule: 'not-significant',
            reason:
              p.correction === 'none'
                ? `${what} ${fmt(s.drop)} but ${interval} includes 0`
                : `${what} ${fmt(s.drop)} but ${interval} ≥ ${alpha}`,
          }
        : {
            ...base,
            label: 'none',
            rule: 'too-few-samples',
            reason: `${what} ${fmt(s.drop)} from ${s.stat.n} samples (< ${p.minSamples}): not tested`,
          };
    if (plateauStart === null || layer < plateauStart) {
      const where = plateauStart === null ? 'no plateau' : `before the plateau (layer ${plateauStart})`;
      if (s.drop < p.minDrop) {
        return {
          ...base,
          label: 'none',
          rule: 'below-min-drop',
          reason: `${what} ${fmt(s.drop)} < minDrop ${fmt(p.minDrop)}`,
        };
      }
      if (!s.significant) return insignificant();
      return {
        ...base,
        label: 'fusion',
        rule: 'fusion',
        reason: `${what} ${fmt(s.drop)} ≥ minDrop ${fmt(p.minDrop)}, ${p.correction === 'none' ? `${interval} above 0` : `${interval} < ${alpha}`}, ${where}`,
      };
    }
    if (s.drop >= p.minReviewDrop) {
      if (!s.significant) return insignificant();
      return {
        ...base,
        label: 'review',
        rule: 'review',
        reason: `after the plateau start (layer ${plateauStart}), ${what} ${fmt(s.drop)} ≥ minReviewDrop ${fmt(p.minReviewDrop)}, ${p.correction === 'none' ? `${interval} above 0` : `${interval} < ${alpha}`}`,
      };
    }
    if (s.drop < p.plateauDrop) {
      return {
        ...base,
        label: 'plateau',
        rule: 'plateau',
        reason: `${what} ${fmt(s.drop)} < plateauDrop ${fmt(p.plateauDrop)}`,
      };
    }
    return {
      ...base,
      label: 'none',
      rule: 'below-review-drop',
      reason: `after the plateau start, ${what} ${fmt(s.drop)} < minReviewDrop ${fmt(p.minReviewDrop)}`,
    };
  });

  summary.push(
    `criterion: ${p.criterion === 'marginal' ? "marginal drop, drop(l) − drop(l+1) (each layer's own share)" : 'drop at the layer'}` +
      (p.correction === 'none'
        ? ''
        : `; ${p.correction === 'holm' ? 'Holm' : 'Benjamini–Hochberg'} correction across ${points} layers`),
  );
  return {
    params: p,
    plateauStart,
    plateauStartDepth: plateauStart === null ? null : normalizedDepth(plateauStart, curve.layerCount),
    fusionLayers: layers.filter((v) => v.label === 'fusion').map((v) => v.layer),
    reviewLayers: layers.filter((v) => v.label === 'review').map((v) => v.layer),
    layers,
    summary,
    warnings: curve.layers.some((stat) => stat.n < p.minSamples)
      ? [`fewer than ${p.minSamples} samples: no layer is tested for significance`]
      : [],
  };
}
