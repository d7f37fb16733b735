/**
 * `npm run bench`: engine speed and memory on a LLaVA-1.5-shaped model (scaled down so it runs on a
 * laptop CPU in seconds). Prints ratios and rates, never asserts: speed goals live here, not in tests.
 *
 *   npm run bench -- [--provider auto|cpu|webgpu|cuda] [--layers 16] [--hidden 256] [--repeats 5]
 *
 * With --shape, a real-size run instead (realSize.ts): a random-weight checkpoint in a hub model's shape.
 *
 *   npm run bench -- --shape llava-1.5-7b|qwen2-vl-2b|qwen2-vl-7b [--precision auto|fp32|fp16|bf16]
 *                    [--mode knockout|hidden] [--dir DIR] [--keep]
 *
 * With --queue, queued sweeps with 1, 2 and 3 local workers on a real redis-server (queueThroughput.ts).
 *
 *   npm run bench -- --queue [--items 120] [--workers 1,2,3]
 *
 * With --analyze, the main job on both demo models, the models one after another and side by side
 * (analyzeJobs.ts).
 *
 *   npm run bench -- --analyze [--limit 60] [--jobs 1,2] [--threads N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { writeTinyLlava } from '../native-models/testing/tinyLlava.ts';
import { sweepConfig } from '../main/engine/analyses/sweep.ts';
import { sweepSample, sweepWork } from '../main/engine/experiments/sweep.ts';
import { runDecoder } from '../main/engine/inference/decoder.ts';
import {
  decoderContext,
  embedSample,
  forward,
  logitsFor,
  planFor,
  prepareSample,
} from '../main/engine/inference/forward.ts';
import { openModel } from '../main/engine/model/openModel.ts';
import { isProviderRequest } from '../main/engine/runtime/providers.ts';
import { isPrecision } from '../native-models/onnx/storage.ts';
import { analyzeJobsBench } from './analyzeJobs.ts';
import { queueThroughputBench } from './queueThroughput.ts';
import { realSizeBench } from './realSize.ts';

const { values } = parseArgs({
  options: {
    provider: { type: 'string', default: 'auto' },
    layers: { type: 'string', default: '16' },
    hidden: { type: 'string', default: '256' },
    repeats: { type: 'string', default: '5' },
    'decode-tokens': { type: 'string', default: '16' },
    shape: { type: 'string' },
    precision: { type: 'string', default: 'auto' },
    mode: { type: 'string', default: 'knockout' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    queue: { type: 'boolean', default: false },
    items: { type: 'string', default: '120' },
    workers: { type: 'string', default: '1,2,3' },
    analyze: { type: 'boolean', default: false },
    limit: { type: 'string', default: '60' },
    jobs: { type: 'string', default: '1,2' },
    threads: { type: 'string' },
  },
});
if (values.analyze) {
  await analyzeJobsBench({
    limit: Number(values.limit),
    jobs: (values.jobs ?? '1,2').split(',').map(Number),
    threads: values.threads !== undefined ? Number(values.threads) : undefined,
  });
  process.exit(0);
}
if (values.queue) {
  await queueThroughputBench({
    items: Number(values.items),
    workerCounts: (values.workers ?? '1,2,3').split(',').map(Number),
  });
  process.exit(0);
}
const provider = values.provider ?? 'auto';
if (!isProviderRequest(provider)) throw new Error(`unknown provider ${provider}`);
if (values.shape !== undefined) {
  const precision = values.precision ?? 'auto';
  if (!isPrecision(precision)) throw new Error(`unknown precision ${precision}`);
  const mode = values.mode === 'hidden' ? 'hidden' : 'knockout';
  await realSizeBench({
    shape: values.shape,
    provider,
    precision,
    dir: values.dir,
    keep: values.keep ?? false,
    mode,
  });
  process.exit(0);
}
const layers = Number(values.layers);
const hidden = Number(values.hidden);
const repeats = Number(values.repeats);
const decodeTokens = Number(values['decode-tokens']);

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Times the variants interleaved, so drift in machine load hits each equally; returns medians. */
async function interleaved(times: number, variants: Array<() => Promise<unknown>>): Promise<number[]> {
  for (const variant of variants) await variant(); // warm-up
  const samples = variants.map(() => [] as number[]);
  for (let i = 0; i < times; i++) {
    for (const [v, variant] of variants.entries()) {
      const start = performance.now();
      await variant();
      samples[v].push(performance.now() - start);
    }
  }
  return samples.map(median);
}

const dir = await mkdtemp(join(tmpdir(), 'fusionscope-bench-'));
try {
  // LLaVA-1.5 proportions: MHA, intermediate ≈ 2.7 × hidden, 576 image tokens (24 × 24 patches).
  await writeTinyLlava(dir, {
    seed: 7,
    dtype: 'F16',
    layout: 'legacy',
    text: {
      hiddenSize: hidden,
      layers,
      heads: hidden / 32,
      kvHeads: hidden / 32,
      intermediateSize: Math.round(hidden * 2.6875),
    },
    vision: { imageSize: 336, patchSize: 14, hiddenSize: 64, layers: 2, heads: 4, intermediateSize: 128 },
  });
  const loadStart = performance.now();
  const model = await openModel(dir, { provider });
  const loadMs = performance.now() - loadStart;
  const image = { width: 336, height: 336, data: new Uint8Array(336 * 336 * 3).fill(128) };
  const sample = await prepareSample(model, {
    image,
    prompt: { kind: 'question', text: 'what color is the shape left of the square' },
  });
  const tokens = sample.expandedIds.length;

  const [plain, withReadout] = await interleaved(repeats, [
    () => forward(model, sample, { attentionRows: [] }),
    () => forward(model, sample, { attentionRows: 'question' }),
  ]);

  // Decode: one token at a time against the prefill's cache.
  const ctx = decoderContext(model);
  const plan = planFor(model, sample);
  const embeds = await embedSample(model, sample);
  const prefill = await runDecoder(ctx, {
    startLayer: 0,
    hidden: embeds,
    offset: 0,
    past: [],
    plan,
    readoutRows: [tokens - 1],
  });
  const D = model.spec.decoder.hiddenSize;
  let past = prefill.present;
  let next: Float32Array = prefill.hidden.slice((tokens - 1) * D);
  const decodeStart = performance.now();
  for (let i = 0; i < decodeTokens; i++) {
    const step = await runDecoder(ctx, {
      startLayer: 0,
      hidden: next,
      offset: tokens + i,
      past,
      plan,
      readoutRows: [0],
    });
    await logitsFor(model, step.hidden, [0]);
    past = step.present;
    next = step.hidden;
  }
  const decodeMs = performance.now() - decodeStart;

  const rssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(
    `model: LLaVA-1.5-shaped, ${layers} decoder layers, hidden ${hidden}, ${sample.imageLayout.count} image tokens, ${tokens}-token prompt`,
  );
  console.log(
    `execution provider: ${model.provider.provider}${model.provider.fallbackReasons.length ? ` (fell back: ${model.provider.fallbackReasons.map((r) => r.split(':')[0]).join(', ')})` : ''}`,
  );
  console.log(`load (build graphs + sessions): ${loadMs.toFixed(0)} ms`);
  console.log(
    `prefill (full forward, no read-out): ${plain.toFixed(1)} ms  → ${((tokens / plain) * 1000).toFixed(0)} tokens/s`,
  );
  console.log(`decode: ${((decodeTokens / decodeMs) * 1000).toFixed(1)} tokens/s`);
  console.log(
    `attention read-out cost (all question rows, every layer, per head) vs plain forward: ${(withReadout / plain).toFixed(3)}× (target ≤ 1.2×)`,
  );
  console.log(`peak RSS: ${rssMiB.toFixed(0)} MiB`);

  // Layer-wise knockout sweep (paper §1): cached partial recompute vs one full pass per masked layer.
  const knockout = sweepConfig.parse({ mode: 'knockout', maxNewTokens: 1 });
  const [cachedMs, naiveMs] = await interleaved(1, [
    () => sweepSample(model, sample, knockout, { strategy: 'cached' }),
    () => sweepSample(model, sample, knockout, { strategy: 'naive' }),
  ]);
  const questionRows = tokens - sample.imageTokenSpan[1];
  const work = (l: number) => sweepWork(l, 1, tokens, questionRows).ratio.toFixed(1);
  console.log(
    `knockout sweep over ${layers} layers: cached ${cachedMs.toFixed(0)} ms vs naive ${naiveMs.toFixed(0)} ms → ${(naiveMs / cachedMs).toFixed(1)}× faster ` +
      `(work ratio ${work(layers)}×; on this prompt shape it would be ${work(16)}× at 16 layers, ${work(32)}× at 32)`,
  );
  await model.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
