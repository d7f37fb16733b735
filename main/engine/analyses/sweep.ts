/**
 * Layer-wise masking (paper §1): per window of layers, the image's influence removed there and what the
 * answer loses; summarised as a curve with bootstrap intervals and fusion/review layer labels.
 */
import { z } from 'zod';

import { MAX_LAYERS } from '../../common/api/methods.ts';
import { fusionCurveOption } from '../../common/charts/fusionCurve.ts';
import { FusionError } from '../../common/errors.ts';
import type { SweepItemResult, SweepSummary } from '../../common/analysis.ts';
import { renderChartSvg } from '../report/renderChartSvg.ts';
import { toCsv } from '../report/table/csv.ts';
import { dropCurve, labelLayers, layerBootstrap } from '../experiments/metrics/index.ts';
import { probabilityOf, scoreAnswer } from '../experiments/scoring.ts';
import { sweepSample, sweepWindows } from '../experiments/sweep.ts';
import { defineAnalysis, maxNewTokensSetting, promptSettings } from './analysis.ts';
import { intervalSeries } from './reportSeries.ts';
import { metricTable, runOfKind } from './runReads.ts';
import { BASELINE_PREFIX, displayArray, goldToken, prepareItem } from './samples.ts';
import type { Workspace } from '../store/workspace.ts';
import type { LayerMetricValue } from '../../common/runs.ts';
import type { ReadOptions } from './analysis.ts';

export const sweepConfig = z.strictObject({
  mode: z.enum(['hidden', 'knockout']).default('hidden').meta({
    label: 'Mode',
    description:
      "hidden: the image tokens' residual stream is multiplied by the scale at the layer's input (the paper's zeroing); knockout: text after the image may not attend to them",
  }),
  scale: z
    .number()
    .min(0)
    .max(10)
    .default(0)
    .meta({
      label: 'Scale',
      description: 'hidden mode: the multiplier (0 zeroes the tokens, 0.1 suppresses them softly)',
      onlyWhen: { field: 'mode', equals: 'hidden' },
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
});

export type SweepConfig = z.output<typeof sweepConfig>;

export function summarizeSweep(workspace: Workspace, runId: number, options: ReadOptions = {}): SweepSummary {
  runOfKind(workspace, runId, 'sweep');
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
  const curve = dropCurve(baseline, masked);
  return {
    runId,
    metric,
    sampleCount: complete.length,
    layerCount: layers.length,
    baselineMean: curve.baselineMean,
    masked: layerBootstrap(masked),
    // Relative drops are undefined when nothing was answered right; absolute drops still mean something.
    labels: labelLayers(
      curve,
      curve.baselineMean > 0 ? options.labels : { ...options.labels, scale: 'absolute' },
    ),
  };
}

export const sweepAnalysis = defineAnalysis({
  kind: 'sweep',
  title: 'Layer-wise masking',
  description: "what the answer loses when the image's influence is removed at each layer",
  config: sweepConfig,

  check(config, { layers, imageTokensPerImage }) {
    sweepWindows(layers, config.window);
    const limit = imageTokensPerImage ?? Number.MAX_SAFE_INTEGER;
    const outside = (config.tokens ?? []).filter((t) => t >= limit);
    if (outside.length > 0) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `sweep tokens must be image token indices within 0..${limit - 1}, got ${outside.slice(0, 5).join(', ')}`,
      );
    }
  },

  async perSample(model, item, config, signal) {
    const sample = await prepareItem(model, item, config);
    const sweep = await sweepSample(model, sample, config, { signal });
    const gold = goldToken(model, item);
    const metrics: LayerMetricValue[] = [];
    const baselineScore = scoreAnswer(item, sweep.baseline.answer.text);
    if (baselineScore !== null)
      metrics.push({ layer: 0, name: `${BASELINE_PREFIX}score`, value: baselineScore });
    if (gold !== undefined)
      metrics.push({
        layer: 0,
        name: `${BASELINE_PREFIX}gold_prob`,
        value: probabilityOf(sweep.baseline.lastLogits, gold),
      });
    for (const outcome of sweep.masked) {
      const layer = outcome.layers[0];
      const score = scoreAnswer(item, outcome.answer.text);
      if (score !== null) metrics.push({ layer, name: 'score', value: score });
      if (gold !== undefined)
        metrics.push({ layer, name: 'gold_prob', value: probabilityOf(outcome.lastLogits, gold) });
    }
    const result: SweepItemResult = {
      baselineAnswer: sweep.baseline.answer.text,
      baselineScore,
      maskedAnswers: sweep.masked.map((m) => m.answer.text),
    };
    return {
      result,
      metrics,
      arrays: [displayArray('baseline_attention', sample, sweep.baseline.imageAttention)],
    };
  },

  summarize: (workspace, run, options) => summarizeSweep(workspace, run.id, options),

  describe: (summary) => [
    `sweep run ${summary.runId}: baseline ${summary.metric} ${summary.baselineMean.toFixed(3)} over ${summary.sampleCount} samples`,
    ...summary.labels.summary.map((line) => `  ${line}`),
  ],

  async report(report, run, sweep) {
    const { spec } = report.model;
    const option = fusionCurveOption({
      title: 'Layer-wise masking: where the image is fused',
      metricLabel: `${sweep.metric} with the image masked at the layer`,
      xAxis: 'layer',
      series: [
        {
          model: `${spec.modelType} (${spec.decoder.layers} layers)`,
          layers: sweep.masked.map((s) => s.layer),
          numLayers: spec.decoder.layers,
          ...intervalSeries(sweep.masked),
          baseline: sweep.baselineMean,
          fusionLayers: sweep.labels.fusionLayers,
          reviewLayers: sweep.labels.reviewLayers,
          plateauStart: sweep.labels.plateauStart,
        },
      ],
    });
    report.addFigure('fusion-curve', renderChartSvg(option, { width: 720, height: 420 }), run);
    report.addFile(
      'fusion-curve.csv',
      toCsv(
        ['layer', 'masked_mean', 'ci_lower', 'ci_upper', 'drop', 'label', 'reason'],
        sweep.labels.layers.map((v, i) => [
          v.layer,
          sweep.masked[i].mean,
          sweep.masked[i].lower,
          sweep.masked[i].upper,
          v.drop,
          v.label,
          v.reason,
        ]),
      ),
    );
    return {
      runId: sweep.runId,
      metric: sweep.metric,
      baseline: sweep.baselineMean,
      samples: sweep.sampleCount,
      fusionLayers: sweep.labels.fusionLayers,
      reviewLayers: sweep.labels.reviewLayers,
      plateauStart: sweep.labels.plateauStart,
      rule: sweep.labels.summary,
    };
  },
});
