/**
 * Head × layer knockout (issue 16, "knockout with control"): for every attention head, a knockout
 * sweep in which only that head may not attend to the image, layer by layer. The drop per (layer,
 * head) says which heads carry the image where — the heat map beside the fusion curve, which masks
 * every head at once. Each head's sweep is the cached, batched one (experiments/sweep.ts).
 */
import { z } from 'zod';

import type { HeadKnockoutSummary, Interval } from '../../common/analysis.ts';
import { headKnockoutOption, headKnockoutTable } from '../../common/charts/headHeatmap.ts';
import { FusionError } from '../../common/errors.ts';
import type { LayerMetricValue } from '../../common/runs.ts';
import { dropCurve } from '../experiments/metrics/index.ts';
import { answerOf, sweepSample } from '../experiments/sweep.ts';
import { toCsv } from '../report/table/csv.ts';
import type { Workspace } from '../store/workspace.ts';
import { defineAnalysis, maxNewTokensSetting, promptSettings, type ReadOptions } from './analysis.ts';
import { metricTable, runOfKind } from './runReads.ts';
import { answerMetrics, BASELINE_PREFIX, goldToken, prepareItem } from './samples.ts';
import { sweepConfig } from './sweep.ts';

export const headKnockoutConfig = z.strictObject({
  queries: z.enum(['all', 'last', 'question']).default('all').meta({
    label: 'Queries',
    description:
      'whose attention to the image the head loses: every position after it, the answer position only, or the question rows only',
  }),
  maxNewTokens: maxNewTokensSetting,
  ...promptSettings,
});

export type HeadKnockoutConfig = z.output<typeof headKnockoutConfig>;

/** Metric names per head: `score@h3`, `gold_prob@h3` at each masked layer. */
const headMetric = (metric: string, head: number) => `${metric}@h${head}`;

export function summarizeHeadKnockout(
  workspace: Workspace,
  runId: number,
  options: ReadOptions = {},
): HeadKnockoutSummary {
  const run = runOfKind(workspace, runId, 'head-knockout');
  const metric = options.metric ?? 'score';
  const heads = workspace.metricNames(runId).filter((name) => name.startsWith(`${metric}@h`)).length;
  const baselines = metricTable(workspace, runId, `${BASELINE_PREFIX}${metric}`);
  const tables = Array.from({ length: heads }, (_, h) =>
    metricTable(workspace, runId, headMetric(metric, h)),
  );
  const layers = [...new Set(tables.flatMap((t) => [...t.values()].flatMap((row) => [...row.keys()])))].sort(
    (a, b) => a - b,
  );
  // The same questions in every cell: those with the baseline and every (layer, head).
  const items = [...baselines.keys()].filter((item) =>
    tables.every((t) => layers.every((l) => t.get(item)?.has(l))),
  );
  if (heads === 0 || layers.length === 0 || items.length === 0) {
    throw new FusionError('BAD_ARGUMENT', `run ${runId} has no complete samples with metric "${metric}"`);
  }
  const baseline = items.map((item) => baselines.get(item)?.get(0) as number);
  const perHead = tables.map((t) =>
    dropCurve(
      baseline,
      items.map((item) => layers.map((l) => t.get(item)?.get(l) as number)),
    ),
  );
  const drops: Interval[][] = layers.map((_, i) =>
    perHead.map((curve) => {
      const { mean, lower, upper } = curve.layers[i];
      return { mean, lower, upper };
    }),
  );
  const parsed = headKnockoutConfig.safeParse(run.config);
  return {
    runId,
    metric,
    queries: parsed.success ? parsed.data.queries : 'all',
    sampleCount: items.length,
    baselineMean: perHead[0].baselineMean,
    layers,
    heads,
    drops,
  };
}

export const headKnockoutAnalysis = defineAnalysis({
  kind: 'head-knockout',
  title: 'Head × layer knockout',
  description:
    'per layer and attention head, what the answer loses when that head alone cannot see the image',
  config: headKnockoutConfig,

  async perSample(model, item, config, signal) {
    const sample = await prepareItem(model, item, config);
    const gold = goldToken(model, item);
    const metrics: LayerMetricValue[] = [];
    for (let head = 0; head < model.spec.decoder.heads; head++) {
      const sweep = await sweepSample(
        model,
        sample,
        sweepConfig.parse({
          mode: 'knockout',
          heads: [head],
          queries: config.queries,
          maxNewTokens: config.maxNewTokens,
        }),
        { signal },
      );
      if (head === 0) {
        metrics.push(
          ...answerMetrics(item, gold, answerOf(sweep.baseline), 0, (m) => `${BASELINE_PREFIX}${m}`),
        );
      }
      for (const outcome of sweep.masked) {
        metrics.push(
          ...answerMetrics(item, gold, answerOf(outcome), outcome.layers[0], (m) => headMetric(m, head)),
        );
      }
    }
    return { result: { heads: model.spec.decoder.heads }, metrics, arrays: [] };
  },

  summarize: (workspace, run, options) => summarizeHeadKnockout(workspace, run.id, options),

  describe(summary) {
    const cells = summary.drops
      .flatMap((row, i) => row.map((cell, head) => ({ layer: summary.layers[i], head, ...cell })))
      .sort((a, b) => b.mean - a.mean)
      .slice(0, 5);
    return [
      `head-knockout run ${summary.runId}: ${summary.sampleCount} samples, ${summary.layers.length} layers × ${summary.heads} heads, baseline ${summary.metric} ${summary.baselineMean.toFixed(3)}`,
      '  largest drops (layer, head: mean [95% CI]):',
      ...cells.map(
        (c) =>
          `    ${c.layer}, ${c.head}: ${c.mean.toFixed(3)} [${c.lower.toFixed(3)}, ${c.upper.toFixed(3)}]`,
      ),
    ];
  },

  async report(report, run, summary) {
    const height = Math.min(900, 160 + 22 * summary.layers.length);
    await report.addChart('head-knockout', headKnockoutOption(summary), { width: 720, height }, run);
    const table = headKnockoutTable(summary);
    report.addFile('head-knockout.csv', toCsv(table.columns, table.rows));
    return {
      runId: summary.runId,
      metric: summary.metric,
      samples: summary.sampleCount,
      heads: summary.heads,
    };
  },
});
