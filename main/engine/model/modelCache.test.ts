/**
 * The model cache: built once, reopened without rebuilding, never trusted when damaged or stale, the
 * same numbers whether tensors sit inside the .onnx files or in weights.bin (the CLI that lists and
 * clears it: cli.test.ts). Also the checks made before anything large is allocated: memory, non-finite
 * weights.
 */
import { readdir, readFile, mkdtemp, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import { lcgImage } from '../../../native-models/testing/random.ts';
import { rewriteCheckpoint } from '../../../native-models/testing/rewrite.ts';
import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import { forward, prepareSample } from '../inference/forward.ts';
import type { Precision } from '../../../native-models/onnx/storage.ts';
import { WeightStore } from '../../../native-models/safetensors/read.ts';
import { estimateMemory } from './memoryBudget.ts';
import { listModelCache } from './modelCache.ts';
import { openModel, type OpenModelOptions } from './openModel.ts';

let root: string;
let checkpoint: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-cache-'));
  checkpoint = join(root, 'model');
  await writeTinyLlava(checkpoint, { seed: 41, dtype: 'BF16', layout: 'legacy' });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Opens the checkpoint (or `folder`), runs one forward and closes; returns its logits and cache facts. */
async function openAndRun(cacheDir: string, options: OpenModelOptions = {}, folder = checkpoint) {
  const model = await openModel(folder, { provider: 'cpu', cacheDir, ...options });
  try {
    const sample = await prepareSample(model, {
      image: lcgImage(3, 32, 32),
      prompt: { kind: 'question', text: 'what color' },
    });
    const { lastLogits } = await forward(model, sample);
    return { logits: lastLogits, cache: model.cache, info: model.info() };
  } finally {
    await model.close();
  }
}

describe('model cache', () => {
  it('builds once, then reopens from the cache with the same results', async () => {
    const cacheDir = join(root, 'reuse');
    const cold = await openAndRun(cacheDir);
    const warm = await openAndRun(cacheDir);
    expect(cold.cache.built).toBe(true);
    expect(warm.cache.built).toBe(false);
    expect(warm.cache.dir).toBe(cold.cache.dir);
    expect([...warm.logits]).toEqual([...cold.logits]);
    const files = await readdir(cold.cache.dir);
    expect(files).toEqual(
      expect.arrayContaining(['manifest.json', 'weights.bin', 'vision.onnx', 'head.onnx']),
    );
    expect(files.filter((f) => /^layer-\d{3}\.onnx$/.test(f))).toHaveLength(
      cold.info.summary.decoderLayers as number,
    );
    expect(cold.info.cache.bytes).toBeGreaterThan(cold.info.storedWeightBytes);
  });

  it('gives the same numbers with every tensor external or every tensor inline', async () => {
    const external = await openAndRun(join(root, 'external'), { inlineLimitBytes: 0 });
    const inline = await openAndRun(join(root, 'inline'), { inlineLimitBytes: 2 ** 40 });
    const manifest = async (dir: string) => JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect((await manifest(external.cache.dir)).weightBytes).toBeGreaterThan(0);
    expect((await manifest(inline.cache.dir)).weightBytes).toBe(0);
    expect(maxRelativeError(inline.logits, external.logits)).toBe(0);
  });

  it('rebuilds a truncated weights file or an altered graph instead of trusting it', async () => {
    const cacheDir = join(root, 'damaged');
    const first = await openAndRun(cacheDir);
    await truncate(join(first.cache.dir, 'weights.bin'), 1000);
    const afterTruncation = await openAndRun(cacheDir);
    expect(afterTruncation.cache.built).toBe(true);
    expect(afterTruncation.cache.rebuiltBecause).toMatch(/weights\.bin is 1000 bytes, expected \d+/);
    expect([...afterTruncation.logits]).toEqual([...first.logits]);

    const layer = join(first.cache.dir, 'layer-001.onnx');
    const bytes = await readFile(layer);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(layer, bytes);
    const afterEdit = await openAndRun(cacheDir);
    expect(afterEdit.cache.rebuiltBecause).toBe('layer-001.onnx does not match its manifest');

    await rm(join(first.cache.dir, 'manifest.json'));
    const afterLoss = await openAndRun(cacheDir);
    expect(afterLoss.cache.rebuiltBecause).toBe('its manifest is missing');
  });

  it('keys entries by the checkpoint’s content and the precision', async () => {
    const cacheDir = join(root, 'keys');
    const original = await openAndRun(cacheDir);
    const edited = join(root, 'edited');
    await rewriteCheckpoint(checkpoint, edited, {
      tensors: (tensors) => {
        const norm = [...tensors.entries()].find(([name]) => name.endsWith('model.norm.weight'))!;
        norm[1].data = norm[1].data.map((v) => v * 2);
      },
    });
    const changed = await openAndRun(cacheDir, {}, edited);
    expect(changed.cache.dir).not.toBe(original.cache.dir);
    // Rewritten in place where no sample may land: the modification time still changes the key.
    const weights = join(checkpoint, 'model.safetensors');
    const later = new Date(Date.now() + 60_000);
    await utimes(weights, later, later);
    const touched = await openAndRun(cacheDir);
    expect(touched.cache.dir).not.toBe(original.cache.dir);
    expect([...touched.logits]).toEqual([...original.logits]);
    const fp32 = await openAndRun(cacheDir, { precision: 'fp32' });
    expect(fp32.cache.dir).not.toBe(original.cache.dir);
    // A BF16 checkpoint stores the same bytes under auto and bf16: one entry serves both.
    const bf16 = await openAndRun(cacheDir, { precision: 'bf16' });
    expect(bf16.cache.dir).toBe(touched.cache.dir);
    expect(fp32.info.storedWeightBytes).toBe(2 * original.info.storedWeightBytes);
    expect((await listModelCache(cacheDir)).map((e) => e.dir).sort()).toEqual(
      [original.cache.dir, changed.cache.dir, touched.cache.dir, fp32.cache.dir].sort(),
    );
  });

  it('refuses non-finite weights, naming each, and leaves no cache entry behind', async () => {
    const broken = join(root, 'nan');
    await rewriteCheckpoint(checkpoint, broken, {
      tensors: (tensors) => {
        for (const [name, t] of tensors) {
          if (name.endsWith('layers.1.mlp.up_proj.weight')) t.data[7] = NaN;
          if (name.endsWith('lm_head.weight')) t.data[0] = Infinity;
        }
      },
    });
    const cacheDir = join(root, 'nan-cache');
    const failure = openAndRun(cacheDir, {}, broken);
    await expect(failure).rejects.toMatchObject({ code: 'BAD_WEIGHTS' });
    await expect(failure).rejects.toThrow(
      /2 weight\(s\) are not finite:\n {2}tensor "language_model\.model\.layers\.1\.mlp\.up_proj\.weight" has 1 NaN\/Inf value\(s\)\n {2}tensor "language_model\.lm_head\.weight" has 1/,
    );
    expect(await listModelCache(cacheDir)).toEqual([]);
  });

  it('says a model cannot fit before building anything, and which precision would', async () => {
    const cacheDir = join(root, 'memory');
    const model = await openModel(checkpoint, { provider: 'cpu', cacheDir: join(root, 'memory-probe') });
    const store = await WeightStore.open(checkpoint);
    const { graphs } = model.spec.build(store.names());
    const needs = (precision: Precision) =>
      estimateMemory(
        [graphs.vision, graphs.embed, ...graphs.layers, graphs.head],
        model.spec.decoder,
        { dtypeOf: (name) => store.entry(name).dtype },
        precision,
      ).totalBytes;
    const [bf16, fp32] = [needs('bf16'), needs('fp32')];
    await Promise.all([model.close(), store.close()]);
    expect(fp32).toBeGreaterThan(bf16);
    // Enough for bf16 (the checkpoint's own) but not for fp32.
    const failure = openAndRun(cacheDir, { precision: 'fp32', availableMemoryBytes: (bf16 + fp32) / 2 });
    await expect(failure).rejects.toMatchObject({ code: 'INSUFFICIENT_RESOURCES' });
    await expect(failure).rejects.toThrow(
      /needs about [\d.]+ GiB of RAM with --precision fp32 \(weights [\d.]+ GiB, working memory .*\) on cpu, but [\d.]+ GiB is available; it would fit with --precision (fp16|bf16)/,
    );
    await expect(openAndRun(cacheDir, { availableMemoryBytes: 1024 })).rejects.toThrow(/no precision fits/);
    expect(await listModelCache(cacheDir)).toEqual([]);
  });
});
