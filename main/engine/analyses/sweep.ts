/**
 * Layer-wise masking (paper §1): per window of layers, the image's influence removed there and what the
 * answer loses; summarised as a curve with bootstrap intervals and fusion/review layer labels.
 */
import { z } from 'zod';

import { MAX_LAYERS } from '../../common/api/methods.ts';
import { FusionError } from '../../common/errors.ts';
import type { SweepItemResult, SweepSummary } from '../../common/analysis.ts';
import {
  depthCurvePermutationTest,
  dropCurve,
  labelLayers,
  layerBootstrap,
  marginalDropCurve,
  type CurveComparison,
} from '../experiments/metrics/index.ts';
import { scoreAnswer } from '../experiments/scoring.ts';
import { chooseDonors, prepareDonor } from '../experiments/donors.ts';
import { answerOf, donorCount, sweepSample, sweepWindows } from '../experiments/sweep.ts';
import { defineAnalysis, maxNewTokensSetting, promptSettings } from './analysis.ts';
import { metricTable, runOfKind } from './runReads.ts';
import { answerMetrics, BASELINE_PREFIX, displayArray, goldToken, prepareItem } from './samples.ts';
import { sweepReport } from './sweepReport.ts';
import type { Workspace } from '../store/workspace.ts';
import type { LayerMetricValue } from '../../common/runs.ts';
import type { ReadOptions } from './analysis.ts';

export const sweepConfig = z
  .strictObject({
    mode: z.enum(['hidden', 'knockout']).default('hidden').meta({
      label: 'Mode',
      description:
        "hidden: the image tokens' residual stream is replaced at the layer's input (by zeros, the paper's masking, or as the fill says); knockout: text after the image may not attend to them",
    }),
    scale: z
      .number()
      .min(0)
      .max(10)
      .default(0)
      .meta({
        label: 'Scale',
        description:
          'hidden mode, fill zero: the multiplier (0 zeroes the tokens, 0.1 suppresses them softly)',
        onlyWhen: { field: 'mode', equals: 'hidden' },
      }),
    fill: z
      .enum(['zero', 'resample', 'mean'])
      .default('zero')
      .meta({
        label: 'Fill',
        description:
          "hidden mode: what takes the image tokens' states — zero (scaled by the scale: the paper's), resample (another image's states at that layer and positions: the next item with a different image, run with this item's prompt) or mean (the position-wise mean of several other images' states); resample and mean keep the states on the model's distribution",
        onlyWhen: { field: 'mode', equals: 'hidden' },
      }),
    donors: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(4)
      .meta({
        label: 'Donors',
        description:
          "fill mean: how many other images' states are averaged (the next items with different images)",
        onlyWhen: { field: 'fill', equals: 'mean' },
      }),
    queries: z
      .enum(['all', 'last', 'question'])
      .default('all')
      .meta({
        label: 'Queries',
        description:
          'knockout: whose attention to the image is blocked — every position after it (all), the answer position only (last: does the answer read the image directly?), or the question rows only (question: the image → question flow)',
        onlyWhen: { field: 'mode', equals: 'knockout' },
      }),
    heads: z
      .array(z.number().int().min(0).max(4096))
      .min(1)
      .max(4096)
      .optional()
      .meta({
        label: 'Heads',
        description: 'knockout: only these attention heads lose the image (0-based)',
        whenOmitted: 'every head',
        onlyWhen: { field: 'mode', equals: 'knockout' },
      }),
    window: z
      .number()
      .int()
      .min(1)
      .max(MAX_LAYERS)
      .default(1)
      .meta({ label: 'Window', description: 'Consecutive layers masked together' }),
    tokens: z.array(z.number().int().min(0).max(1_000_000)).max(1_000_000).optional().meta({
      label: 'Image tokens',
      description: 'Indexes inside the image-token span to mask',
      whenOmitted: 'every image token',
    }),
    maxNewTokens: maxNewTokensSetting,
    ...promptSettings,
  })
  // Settings that would be silently ignored are refused by name instead.
  .superRefine((config, context) => {
    if (config.fill !== 'zero' && config.mode !== 'hidden') {
      context.addIssue({
        code: 'custom',
        path: ['fill'],
        message: `fill ${config.fill} replaces the image tokens' states, so it needs mode hidden, not ${config.mode}`,
      });
    }
    if (config.fill !== 'zero' && config.scale !== 0) {
      context.addIssue({
        code: 'custom',
        path: ['scale'],
        message: `scale ${config.scale} multiplies the states fill zero leaves; fill ${config.fill} replaces them`,
      });
    }
  });

export type SweepConfig = z.output<typeof sweepConfig>;

/** Per complete sample, the paired drop baseline − masked at every layer of a sweep run. */
function sampleDrops(workspace: Workspace, runId: number, metric: 'score' | 'gold_prob'): number[][] {
  const table = metricTable(workspace, runId, metric);
  const baselines = metricTable(workspace, runId, `${BASELINE_PREFIX}${metric}`);
  const layers = [...new Set([...table.values()].flatMap((row) => [...row.keys()]))].sort((a, b) => a - b);
  return [...table.entries()]
    .filter(([item, row]) => baselines.has(item) && layers.every((l) => row.has(l)))
    .map(([item, row]) => {
      const base = baselines.get(item)?.get(0) as number;
      return layers.map((l) => base - (row.get(l) as number));
    });
}

/**
 * Do two sweeps' drop curves differ (two models, or two modes of one)? A permutation test on their
 * per-sample drop curves read on normalised depth (metrics/pairedTests.ts), so models of different
 * depth compare.
 */
export function compareSweeps(
  workspace: Workspace,
  runIds: readonly [number, number],
  metric: 'score' | 'gold_prob' = 'score',
): CurveComparison {
  const [a, b] = runIds.map((id) => {
    runOfKind(workspace, id, 'sweep');
    const drops = sampleDrops(workspace, id, metric);
    if (drops.length === 0) {
      throw new FusionError('BAD_ARGUMENT', `run ${id} has no complete samples with metric "${metric}"`);
    }
    return drops;
  });
  return depthCurvePermutationTest(a, b);
}

/** Does removing the image at a layer carry into the layers after it? Then drops are cumulative. */
const CUMULATIVE_MODES: ReadonlySet<string> = new Set(['hidden']);

export function summarizeSweep(workspace: Workspace, runId: number, options: ReadOptions = {}): SweepSummary {
  const run = runOfKind(workspace, runId, 'sweep');
  // Runs recorded before settings were parsed by the schema still parse (defaults filled).
  const parsed = sweepConfig.safeParse(run.config);
  const mode = parsed.success ? parsed.data.mode : 'hidden';
  const fill = parsed.success ? parsed.data.fill : 'zero';
  const window = parsed.success ? parsed.data.window : 1;
  const cumulative = CUMULATIVE_MODES.has(mode);
  const criterion = options.labels?.criterion ?? (cumulative ? 'marginal' : 'drop');
  const metric = options.metric ?? 'score';
  const table = metricTable(workspace, runId, metric);
  const baselines = metricTable(workspace, runId, `${BASELINE_PREFIX}${metric}`);
  const layers = [...new Set([...table.values()].flatMap((row) => [...row.keys()]))].sort((a, b) => a - b);
  // Only samples with the baseline and every layer enter the paired statistics.
  const complete = [...table.entries()].filter(
    ([item, row]) => baselines.has(item) && layers.every((l) => row.has(l)),
  );
  if (complete.length === 0 || layers.length === 0) {
    throw new FusionError('BAD_ARGUMENT', `run ${runId} has no complete samples with metric "${metric}"`);
  }
  const baseline = complete.map(([item]) => baselines.get(item)?.get(0) as number);
  const masked = complete.map(([, row]) => layers.map((l) => row.get(l) as number));
  const drops = dropCurve(baseline, masked);
  const tested = criterion === 'marginal' ? marginalDropCurve(baseline, masked) : drops;
  // Relative drops are undefined when nothing was answered right; absolute drops still mean something.
  const labels = labelLayers(tested, {
    ...options.labels,
    criterion,
    ...(drops.baselineMean > 0 ? {} : { scale: 'absolute' as const }),
  });
  const warnings =
    cumulative && criterion === 'drop'
      ? [
          `${mode} mode removes the image from every layer after the masked one, so each drop is cumulative and the 'drop' criterion labels every layer before the plateau: read the 'marginal' criterion`,
        ]
      : [];
  return {
    runId,
    metric,
    sampleCount: complete.length,
    layerCount: layers.length,
    baselineMean: drops.baselineMean,
    mode,
    ...(mode === 'hidden' ? { fill } : {}),
    // A window starting at layer l sits at depth l / (L − 1) of the model's L layers; its last start
    // is L − window, so a windowed curve does not reach depth 1.
    masked: layerBootstrap(masked, { layerCount: layers[layers.length - 1] + window }),
    drops: drops.layers.map(({ p: _p, ...stat }) => stat),
    labels: { ...labels, warnings: [...warnings, ...labels.warnings] },
  };
}

export const sweepAnalysis = defineAnalysis({
  kind: 'sweep',
  title: 'Layer-wise masking',
  description: "what the answer loses when the image's influence is removed at each layer",
  config: sweepConfig,

  check(config, { layers, heads, imageTokensPerImage }) {
    sweepWindows(layers, config.window);
    const badHeads = (config.heads ?? []).filter((h) => h >= heads);
    if (badHeads.length > 0) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `sweep heads must be attention heads within 0..${heads - 1}, got ${badHeads.slice(0, 5).join(', ')}`,
      );
    }
    const limit = imageTokensPerImage ?? Number.MAX_SAFE_INTEGER;
    const outside = (config.tokens ?? []).filter((t) => t >= limit);
    if (outside.length > 0) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `sweep tokens must be image token indices within 0..${limit - 1}, got ${outside.slice(0, 5).join(', ')}`,
      );
    }
  },

  companions: (item, config, items) => chooseDonors(items, item, donorCount(config)),

  async perSample(model, item, config, signal, { items }) {
    const sample = await prepareItem(model, item, config);
    const donorItems = chooseDonors(items, item, donorCount(config));
    const donors = await Promise.all(
      donorItems.map((d) => prepareDonor(model, sample, { id: d.id, image: d.imagePath })),
    );
    const sweep = await sweepSample(model, sample, config, { signal, donors });
    const gold = goldToken(model, item);
    const metrics: LayerMetricValue[] = [
      ...answerMetrics(item, gold, answerOf(sweep.baseline), 0, (m) => `${BASELINE_PREFIX}${m}`),
      ...sweep.masked.flatMap((outcome) =>
        answerMetrics(item, gold, answerOf(outcome), outcome.layers[0], (m) => m),
      ),
    ];
    const result: SweepItemResult = {
      baselineAnswer: sweep.baseline.answer.text,
      baselineScore: scoreAnswer(item, sweep.baseline.answer.text),
      maskedAnswers: sweep.masked.map((m) => m.answer.text),
      ...(donorItems.length > 0 ? { donors: donorItems.map((d) => d.id) } : {}),
    };
    return {
      result,
      metrics,
      arrays: [displayArray('baseline_attention', sample, sweep.baseline.imageAttention)],
    };
  },

  summarize: (workspace, run, options) => summarizeSweep(workspace, run.id, options),

  describe: (summary) => [
    `sweep run ${summary.runId} (${summary.fill ? `${summary.mode}, fill ${summary.fill}` : summary.mode}): baseline ${summary.metric} ${summary.baselineMean.toFixed(3)} over ${summary.sampleCount} samples`,
    `  fusion layers: ${summary.labels.fusionLayers.join(', ') || 'none'}; review layers: ${summary.labels.reviewLayers.join(', ') || 'none'}`,
    ...summary.labels.summary.map((line) => `  ${line}`),
    ...summary.labels.warnings.map((line) => `  warning: ${line}`),
  ],

  report: (report, run, sweep) =>
    sweepReport(report, run, sweep, (runId, options) => summarizeSweep(report.workspace, runId, options)),
});
