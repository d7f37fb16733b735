/**
 * Logit lens (nostalgebraist 2020): the residual stream after each decoder layer, at the answer
 * position (the last prompt position), read through the model's own final norm and LM head as if it
 * were the last layer. Per layer: the gold answer's first token's probability and rank, the top-1
 * token's probability, and the top k tokens. Where the gold token first wins tells at which depth
 * the answer is decided, to read beside the fusion and review layers of a sweep (paper §1).
 */
import { z } from 'zod';

import {
  LOGIT_LENS_METRICS,
  type LayerStat,
  type LensToken,
  type LogitLensItemResult,
  type LogitLensMetric,
  type LogitLensSummary,
  type SweepSummary,
} from '../../common/analysis.ts';
import { logitLensOption, logitLensTable } from '../../common/charts/layerReadouts.ts';
import type { LayerMetricValue } from '../../common/runs.ts';
import { layerBootstrap } from '../experiments/metrics/index.ts';
import { forward } from '../inference/forward.ts';
import { toCsv } from '../report/table/csv.ts';
import type { Workspace } from '../store/workspace.ts';
import { defineAnalysis, promptSettings } from './analysis.ts';
import { lensRows } from './lens.ts';
import { completeLayerRows, runOfKind } from './runReads.ts';
import { goldToken, prepareItem, stack } from './samples.ts';

export const logitLensConfig = z.strictObject({
  topK: z.number().int().min(1).max(50).default(5).meta({
    label: 'Top tokens',
    description: 'Most probable tokens kept per layer and sample',
  }),
  ...promptSettings,
});

export type LogitLensConfig = z.output<typeof logitLensConfig>;

export { lensRow, type LensRow } from './lens.ts';

export function summarizeLogitLens(workspace: Workspace, runId: number): LogitLensSummary {
  runOfKind(workspace, runId, 'logit-lens');
  const curves: Partial<Record<LogitLensMetric, LayerStat[]>> = {};
  let sampleCount = 0;
  let layerCount = 0;
  for (const name of LOGIT_LENS_METRICS) {
    const { layers, rows } = completeLayerRows(workspace, runId, name);
    if (rows.length === 0) continue;
    curves[name] = layerBootstrap(rows);
    sampleCount = Math.max(sampleCount, rows.length);
    layerCount = Math.max(layerCount, layers.length);
  }
  // The first layer ranking the gold token first, per sample.
  const ranks = completeLayerRows(workspace, runId, 'gold_rank');
  const firsts = ranks.rows.flatMap((row) => {
    const i = row.indexOf(1);
    return i >= 0 ? [ranks.layers[i]] : [];
  });
  return {
    runId,
    sampleCount,
    layerCount,
    curves,
    firstTop1: {
      mean: firsts.length ? firsts.reduce((a, b) => a + b, 0) / firsts.length : null,
      reached: firsts.length,
      of: ranks.rows.length,
    },
  };
}

export const logitLensAnalysis = defineAnalysis({
  kind: 'logit-lens',
  title: 'Logit lens',
  description:
    'per layer, the gold answer token’s probability and rank read through the final norm and LM head',
  config: logitLensConfig,

  async perSample(model, item, config, signal) {
    const sample = await prepareItem(model, item, config);
    const gold = goldToken(model, item);
    const pass = await forward(model, sample, { signal });
    const lens = await lensRows(
      model,
      stack(pass.hiddenStates),
      pass.hiddenStates.map((_, l) => l),
      config.topK,
      gold,
    );
    const metrics: LayerMetricValue[] = lens.flatMap((row, layer) => [
      { layer, name: 'top1_prob', value: row.top1Prob },
      ...(row.goldProb !== undefined && row.goldRank !== undefined
        ? [
            { layer, name: 'gold_prob', value: row.goldProb },
            { layer, name: 'gold_rank', value: row.goldRank },
          ]
        : []),
    ]);
    const text = (token: number) => model.tokenizer.decode([token]);
    const first = lens.findIndex((row) => row.goldRank === 1);
    const result: LogitLensItemResult = {
      goldToken: gold ?? null,
      goldText: gold !== undefined ? text(gold) : null,
      firstTop1Layer: gold !== undefined && first >= 0 ? first : null,
      topTokens: lens.map((row) =>
        row.top.map<LensToken>(({ token, prob }) => ({ token, text: text(token), prob })),
      ),
    };
    return { result, metrics, arrays: [] };
  },

  summarize: (workspace, run) => summarizeLogitLens(workspace, run.id),

  describe(s) {
    const lines = [`logit-lens run ${s.runId}: ${s.sampleCount} samples, ${s.layerCount} layers`];
    for (const name of LOGIT_LENS_METRICS) {
      const curve = s.curves[name];
      if (!curve) continue;
      const digits = name === 'gold_rank' ? 1 : 3;
      lines.push(`  ${name.padEnd(10)} ${curve.map((c) => c.mean.toFixed(digits)).join(' ')}`);
    }
    const { mean, reached, of } = s.firstTop1;
    lines.push(
      of === 0
        ? '  no sample has a gold answer'
        : mean === null
          ? `  the gold token is top-1 at no layer (${of} samples)`
          : `  gold first top-1 at layer ${mean.toFixed(2)} on average (${reached} of ${of} samples; the rest never)`,
    );
    return lines;
  },

  async report(report, run, summary) {
    const sweep = report.summaryOf<SweepSummary>('sweep');
    const option = logitLensOption(summary, {
      fusionLayers: sweep?.labels.fusionLayers,
      reviewLayers: sweep?.labels.reviewLayers,
    });
    if (option) await report.addChart('logit-lens', option, { width: 720, height: 600 }, run);
    const table = logitLensTable(summary);
    report.addFile('logit-lens.csv', toCsv(table.columns, table.rows));
    return {
      runId: run.id,
      samples: summary.sampleCount,
      firstTop1: summary.firstTop1,
      curves: Object.fromEntries(
        Object.entries(summary.curves).map(([name, stats]) => [name, stats.map((s) => s.mean)]),
      ),
    };
  },
});
