/**
 * Attention share: per layer and head, how the answer position's (the last prompt position's)
 * attention splits between the image tokens, the text before the first image (BOS, system prompt:
 * the attention sink), the other text after it, and the position itself. Attention evolution (paper
 * §2) renormalises the image slice of each map to sum 1; at layers whose image share is near zero
 * that stretches almost nothing into a full map, so those layers are flagged here.
 */
import { z } from 'zod';

import {
  ATTENTION_SHARE_PARTS,
  type AttentionShareItemResult,
  type AttentionSharePart,
  type AttentionShareSummary,
  type LayerStat,
  type SweepSummary,
} from '../../common/analysis.ts';
import { FusionError } from '../../common/errors.ts';
import { attentionShareOption, attentionShareTable } from '../../common/charts/layerReadouts.ts';
import type { LayerMetricValue } from '../../common/runs.ts';
import { layerBootstrap } from '../experiments/metrics/index.ts';
import { forward } from '../inference/forward.ts';
import { toCsv } from '../report/table/csv.ts';
import type { Workspace } from '../store/workspace.ts';
import { defineAnalysis, promptSettings } from './analysis.ts';
import { completeLayerRows, runOfKind } from './runReads.ts';
import { prepareItem, stack } from './samples.ts';

export const attentionShareConfig = z.strictObject({
  imageShareThreshold: z.number().min(0).max(1).default(0.01).meta({
    label: 'Flag image share below',
    description:
      'Layers whose image share (head mean) is below this are flagged: their attention maps over the image are a renormalised near-zero',
  }),
  ...promptSettings,
});

export type AttentionShareConfig = z.output<typeof attentionShareConfig>;

const PART_COUNT = ATTENTION_SHARE_PARTS.length;
const metricName = (part: AttentionSharePart) => `${part}_share`;

/**
 * Each position's part (an index into ATTENTION_SHARE_PARTS) as seen from the last position: image
 * tokens of every image, text before the first image, the last position itself, and other text.
 * With the image before BOS (InstructBLIP's query tokens) there is no prefix: BOS counts as text.
 */
export function positionParts(imageSpans: readonly (readonly [number, number])[], total: number): Uint8Array {
  const [IMAGE, PREFIX, TEXT, SELF] = (['image', 'prefix', 'text', 'self'] as const).map((p) =>
    ATTENTION_SHARE_PARTS.indexOf(p),
  );
  const firstImage = Math.min(total, ...imageSpans.map(([start]) => start));
  const parts = new Uint8Array(total).fill(TEXT);
  parts.fill(PREFIX, 0, firstImage);
  for (const [start, end] of imageSpans) parts.fill(IMAGE, start, end);
  parts[total - 1] = SELF;
  return parts;
}

/**
 * One layer's read-out row [heads, 1, total] → per head the share of each part, [heads, parts]. The
 * row is a softmax, so the shares of a head sum to 1 (up to float32 rounding).
 */
export function headShares(probs: Float32Array, heads: number, parts: Uint8Array): Float64Array {
  const total = parts.length;
  if (probs.length !== heads * total) {
    throw new FusionError(
      'RUNTIME',
      `expected one read-out row of ${heads} heads × ${total} keys, got ${probs.length} values`,
    );
  }
  const out = new Float64Array(heads * PART_COUNT);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < total; j++) out[h * PART_COUNT + parts[j]] += probs[h * total + j];
  }
  return out;
}

export function summarizeAttentionShare(workspace: Workspace, runId: number): AttentionShareSummary {
  const run = runOfKind(workspace, runId, 'attention-share');
  const threshold = attentionShareConfig.parse(run.config ?? {}).imageShareThreshold;
  const shares = {} as Record<AttentionSharePart, LayerStat[]>;
  let sampleCount = 0;
  let layerCount = 0;
  for (const part of ATTENTION_SHARE_PARTS) {
    const { layers, rows } = completeLayerRows(workspace, runId, metricName(part));
    shares[part] = rows.length ? layerBootstrap(rows) : [];
    sampleCount = Math.max(sampleCount, rows.length);
    layerCount = Math.max(layerCount, layers.length);
  }
  const image = completeLayerRows(workspace, runId, metricName('image'));
  return {
    runId,
    sampleCount,
    layerCount,
    threshold,
    shares,
    flaggedLayers: shares.image.filter((s) => s.mean < threshold).map((s) => s.layer),
    flaggedFraction: image.layers.map(
      (_, i) => image.rows.filter((row) => row[i] < threshold).length / image.rows.length,
    ),
  };
}

export const attentionShareAnalysis = defineAnalysis({
  kind: 'attention-share',
  title: 'Attention share',
  description:
    'per layer and head, the answer position’s attention on the image, the prefix, the text and itself',
  config: attentionShareConfig,

  async perSample(model, item, config, signal) {
    const sample = await prepareItem(model, item, config);
    const pass = await forward(model, sample, { keepFullAttention: true, signal });
    const { heads } = model.spec.decoder;
    const parts = positionParts(sample.imageTokenSpans, sample.expandedIds.length);
    const perLayer = (pass.fullAttention ?? []).map((probs) => headShares(probs, heads, parts));
    const metrics: LayerMetricValue[] = [];
    const flaggedLayers: number[] = [];
    perLayer.forEach((shares, layer) => {
      ATTENTION_SHARE_PARTS.forEach((part, k) => {
        let mean = 0;
        for (let h = 0; h < heads; h++) mean += shares[h * PART_COUNT + k] / heads;
        metrics.push({ layer, name: metricName(part), value: mean });
        if (part === 'image' && mean < config.imageShareThreshold) flaggedLayers.push(layer);
      });
    });
    const count = (k: number) => parts.reduce((n, p) => n + (p === k ? 1 : 0), 0);
    const result: AttentionShareItemResult = {
      tokens: Object.fromEntries(ATTENTION_SHARE_PARTS.map((part, k) => [part, count(k)])) as Record<
        AttentionSharePart,
        number
      >,
      flaggedLayers,
    };
    return {
      result,
      metrics,
      arrays: [{ name: 'head_shares', data: stack(perLayer), shape: [perLayer.length, heads, PART_COUNT] }],
    };
  },

  summarize: (workspace, run) => summarizeAttentionShare(workspace, run.id),

  describe(s) {
    const lines = [`attention-share run ${s.runId}: ${s.sampleCount} samples, ${s.layerCount} layers`];
    for (const part of ATTENTION_SHARE_PARTS) {
      lines.push(`  ${part.padEnd(7)} ${s.shares[part].map((c) => c.mean.toFixed(3)).join(' ')}`);
    }
    lines.push(
      s.flaggedLayers.length
        ? `  image share below ${s.threshold} at layers ${s.flaggedLayers.join(', ')}: their image maps mean little`
        : `  image share at or above ${s.threshold} at every layer`,
    );
    return lines;
  },

  async report(report, run, summary) {
    const sweep = report.summaryOf<SweepSummary>('sweep');
    const option = attentionShareOption(summary, { fusionLayers: sweep?.labels.fusionLayers });
    if (option) await report.addChart('answer-attention-share', option, { width: 720, height: 420 }, run);
    const table = attentionShareTable(summary);
    report.addFile('answer-attention-share.csv', toCsv(table.columns, table.rows));
    return {
      runId: run.id,
      samples: summary.sampleCount,
      threshold: summary.threshold,
      flaggedLayers: summary.flaggedLayers,
      shares: Object.fromEntries(ATTENTION_SHARE_PARTS.map((p) => [p, summary.shares[p].map((s) => s.mean)])),
    };
  },
});
