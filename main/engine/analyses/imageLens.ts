/**
 * Image-token lens: the logit lens (lens.ts) applied to every image token instead of the answer
 * position. After each decoder layer, each token of the first image is read through the model's own
 * final norm and LM head; per token its top-1 vocabulary token and that token's probability are kept,
 * so the app and the report can label the image's patches with the words the model reads there, layer
 * by layer ("Towards Interpreting Visual Information Processing in VLMs", Neo et al. 2024: object
 * patches decode to their object's name in middle-to-late layers).
 *
 * Per layer the sample gets `patch_top1_prob` (mean over its image tokens of the top-1 probability)
 * and, with a gold answer, `patch_gold_top1` and `patch_gold_topk` (the shares of its image tokens
 * ranking the gold answer's first token first / within topK) and `patch_gold_prob_max` (the largest
 * probability any of its image tokens gives that token: is the answer readable somewhere in the image
 * rows before the answer position reads it?). Arrays `top1_token` and `top1_prob` are [layer][token]
 * over the recorded layers (token ids are exact in float32 below 2^24).
 *
 * Hidden states come from one plain forward with `keepCache`: the residual stream at each layer's
 * input, which is the previous layer's output, for every position; the image rows are read in place
 * (the span is contiguous) and go through the head one layer at a time, in row chunks under
 * LENS_LOGITS_BUDGET, so the vocabulary × tokens × layers logits are never held at once.
 */
import { z } from 'zod';

import { MAX_LAYERS } from '../../common/api/methods.ts';
import {
  IMAGE_LENS_METRICS,
  type ImageLensItemResult,
  type ImageLensMetric,
  type ImageLensSummary,
  type LayerStat,
} from '../../common/analysis.ts';
import { FusionError } from '../../common/errors.ts';
import type { LayerMetricValue } from '../../common/runs.ts';
import { layerBootstrap } from '../experiments/metrics/index.ts';
import { forward, type ForwardResult } from '../inference/forward.ts';
import type { Workspace } from '../store/workspace.ts';
import { defineAnalysis, promptSettings } from './analysis.ts';
import { IMAGE_LENS_ARRAYS } from './imageLensReads.ts';
import { imageLensReport } from './imageLensReport.ts';
import { lensRows, type LensRow } from './lens.ts';
import { completeLayerRows, runOfKind } from './runReads.ts';
import { goldToken, prepareItem } from './samples.ts';

export const imageLensConfig = z.strictObject({
  topK: z.number().int().min(1).max(50).default(5).meta({
    label: 'Top tokens',
    description: 'patch_gold_topk counts the image tokens whose top k read-outs hold the gold answer',
  }),
  layers: z
    .array(
      z
        .number()
        .int()
        .min(0)
        .max(MAX_LAYERS - 1),
    )
    .min(1)
    .max(MAX_LAYERS)
    .optional()
    .meta({
      label: 'Layers',
      description:
        'Only these decoder layers (0-based) go through the head: on a 7B model each layer is 576 image tokens × the vocabulary',
      whenOmitted: 'every layer',
    }),
  ...promptSettings,
});

export type ImageLensConfig = z.output<typeof imageLensConfig>;

/** The recorded layers: the chosen ones, ascending and once each, or every layer. */
function lensLayers(config: Pick<ImageLensConfig, 'layers'>, modelLayers: number): number[] {
  return config.layers
    ? [...new Set(config.layers)].sort((a, b) => a - b)
    : Array.from({ length: modelLayers }, (_, l) => l);
}

/** Every position's residual stream after `layer`, [positions, D]: the next layer's kept input, or the last output. */
function layerOutput(pass: ForwardResult, layer: number): Float32Array {
  const cache = pass.cache?.pass;
  const kept = cache && (layer + 1 < cache.layerInputs.length ? cache.layerInputs[layer + 1] : cache.hidden);
  if (!kept) throw new FusionError('RUNTIME', `the decoder kept no residual stream after layer ${layer}`);
  return kept;
}

/** One layer's metrics over the image tokens' read-outs (gold ones only with a gold token). */
function patchMetrics(
  rows: readonly LensRow[],
  k: number,
  layer: number,
  hasGold: boolean,
): LayerMetricValue[] {
  const n = rows.length;
  const mean = (f: (row: LensRow) => number) => rows.reduce((sum, row) => sum + f(row), 0) / n;
  const metrics: LayerMetricValue[] = [
    { layer, name: 'patch_top1_prob', value: mean((row) => row.top1Prob) },
  ];
  if (!hasGold) return metrics;
  const rank = (row: LensRow) => row.goldRank ?? Infinity;
  return [
    ...metrics,
    { layer, name: 'patch_gold_top1', value: mean((row) => (rank(row) === 1 ? 1 : 0)) },
    { layer, name: 'patch_gold_topk', value: mean((row) => (rank(row) <= k ? 1 : 0)) },
    {
      layer,
      name: 'patch_gold_prob_max',
      value: rows.reduce((best, row) => Math.max(best, row.goldProb ?? 0), 0),
    },
  ];
}

export function summarizeImageLens(workspace: Workspace, runId: number): ImageLensSummary {
  const run = runOfKind(workspace, runId, 'image-lens');
  const topK = imageLensConfig.parse(run.config ?? {}).topK;
  const first = workspace.readSamples<ImageLensItemResult>(runId).find((s) => s.result)?.result;
  const curves: Partial<Record<ImageLensMetric, LayerStat[]>> = {};
  let sampleCount = 0;
  for (const name of IMAGE_LENS_METRICS) {
    const { layers, rows } = completeLayerRows(workspace, runId, name);
    if (rows.length === 0) continue;
    // Rows hold the recorded layers only: put each point back at its layer and depth.
    const depthOf = (layer: number) => layer / Math.max(1, (first?.modelLayers ?? layers.length) - 1);
    curves[name] = layerBootstrap(rows).map((stat, i) => ({
      ...stat,
      layer: layers[i],
      depth: depthOf(layers[i]),
    }));
    sampleCount = Math.max(sampleCount, rows.length);
  }
  return { runId, sampleCount, topK, curves };
}

export const imageLensAnalysis = defineAnalysis({
  kind: 'image-lens',
  title: 'Image-token lens',
  description:
    'per layer, each image token read through the final norm and LM head: its top-1 token and probability on the image grid',
  config: imageLensConfig,

  check(config, bounds) {
    const outside = (config.layers ?? []).filter((l) => l >= bounds.layers);
    if (outside.length > 0) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `image-lens layers must be decoder layers within 0..${bounds.layers - 1}, got ${outside.slice(0, 5).join(', ')}`,
      );
    }
  },

  async perSample(model, item, config, signal) {
    const sample = await prepareItem(model, item, config);
    const gold = goldToken(model, item);
    const layers = lensLayers(config, model.spec.decoder.layers);
    const [start, end] = sample.imageTokenSpan;
    const positions = Array.from({ length: end - start }, (_, i) => start + i);
    const pass = await forward(model, sample, { keepCache: true, signal });
    const tokens = new Float32Array(layers.length * positions.length);
    const probs = new Float32Array(layers.length * positions.length);
    const seen = new Set<number>();
    const metrics: LayerMetricValue[] = [];
    for (const [row, layer] of layers.entries()) {
      if (signal.aborted) throw signal.reason;
      const lens = await lensRows(model, layerOutput(pass, layer), positions, config.topK, gold);
      lens.forEach((read, i) => {
        tokens[row * positions.length + i] = read.top[0].token;
        probs[row * positions.length + i] = read.top1Prob;
        seen.add(read.top[0].token);
      });
      metrics.push(...patchMetrics(lens, config.topK, layer, gold !== undefined));
    }
    const text = (token: number) => model.tokenizer.decode([token]);
    const result: ImageLensItemResult = {
      goldToken: gold ?? null,
      goldText: gold !== undefined ? text(gold) : null,
      layers,
      modelLayers: model.spec.decoder.layers,
      tokens: positions.length,
      onImage: sample.imageLayout.display === undefined,
      texts: Object.fromEntries([...seen].sort((a, b) => a - b).map((t) => [String(t), text(t)])),
    };
    const shape = [layers.length, positions.length];
    return {
      result,
      metrics,
      arrays: [
        { name: IMAGE_LENS_ARRAYS.token, data: tokens, shape },
        { name: IMAGE_LENS_ARRAYS.prob, data: probs, shape },
      ],
    };
  },

  summarize: (workspace, run) => summarizeImageLens(workspace, run.id),

  describe(s) {
    const layers = Object.values(s.curves)[0]?.map((c) => c.layer) ?? [];
    const lines = [`image-lens run ${s.runId}: ${s.sampleCount} samples, ${layers.length} layers`];
    if (layers.length)
      lines.push(`  ${'layer'.padEnd(19)} ${layers.map((l) => String(l).padStart(5)).join(' ')}`);
    for (const name of IMAGE_LENS_METRICS) {
      const curve = s.curves[name];
      if (!curve) continue;
      const label = name === 'patch_gold_topk' ? `patch_gold_top${s.topK}` : name;
      lines.push(`  ${label.padEnd(19)} ${curve.map((c) => c.mean.toFixed(3)).join(' ')}`);
    }
    if (!s.curves.patch_gold_topk) lines.push('  no sample has a gold answer');
    return lines;
  },

  report: imageLensReport,
});
