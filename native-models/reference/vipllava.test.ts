/**
 * The float64 reference's VIP-LLaVA (transformers' VipLlavaForConditionalGeneration): config defaults,
 * multi-layer features in list order, and the projector's LayerNorm, each checked against an
 * independent construction on a tiny checkpoint.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { mulberry32, normals } from '../testing/random.ts';
import { rewriteCheckpoint, type EditableTensor } from '../testing/rewrite.ts';
import { writeTinyLlava, type TinyLlavaOptions } from '../testing/tinyLlava.ts';
import { buildTinyTokenizer, encodeTiny } from '../testing/tinyTokenizer.ts';
import { parseLlavaConfig } from './config.ts';
import { ReferenceLlava } from './llava.ts';

const HIDDEN = 32; // tiny vision hidden size
const pixels = Float32Array.from(normals(mulberry32(17), 3 * 28 * 28));
const size: [number, number] = [28, 28];
const tokenizer = buildTinyTokenizer();
const ids = encodeTiny(tokenizer, `USER: ${'<image>'.repeat(16)}\nWhat color is the square? ASSISTANT:`);

let root: string;
let base: string;
let model: ReferenceLlava;
let counter = 0;

function maxDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((row, i) => {
    for (let j = 0; j < row.length; j++) worst = Math.max(worst, Math.abs(row[j] - b[i][j]));
  });
  return worst;
}

async function fixture(options: Partial<TinyLlavaOptions> = {}): Promise<string> {
  const dir = join(root, `vip-${counter++}`);
  await writeTinyLlava(dir, { seed: 11, dtype: 'F32', layout: 'legacy', vipllava: true, ...options });
  return dir;
}

async function rewritten(edit: Parameters<typeof rewriteCheckpoint>[2], source = base) {
  const dir = join(root, `rewrite-${counter++}`);
  await rewriteCheckpoint(source, dir, edit);
  return ReferenceLlava.load(dir);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-reference-vip-'));
  base = await fixture(); // vision_feature_layers [-2, -4, 1]
  model = await ReferenceLlava.load(base);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('VIP-LLaVA config', () => {
  it('takes VipLlavaConfig defaults: five feature layers, CLS dropped, biased projector, eps 1e-5', () => {
    const config = parseLlavaConfig({ model_type: 'vipllava', vision_feature_select_strategy: 'full' });
    expect(config.modelType).toBe('vipllava');
    expect(config.visionFeatureLayer).toEqual([-2, -5, -8, -11, 6]);
    expect(config.visionFeatureSelectStrategy).toBe('default'); // VIP has no strategy: the key is ignored
    expect(config.projectorBias).toBe(true);
    expect(config.projectorLayerNormEps).toBe(1e-5);
    expect(config.vision.layers).toBe(24);
    expect(parseLlavaConfig({ model_type: 'llava' }).projectorLayerNormEps).toBeUndefined();
  });

  it('names vision_feature_layers in its errors', () => {
    const vision = { num_hidden_layers: 3 };
    expect(() => parseLlavaConfig({ model_type: 'vipllava', vision_config: vision })).toThrow(
      /vision_feature_layers \[-2,-5,-8,-11,6\] must index the 4 vision hidden states/,
    );
    expect(() =>
      parseLlavaConfig({ model_type: 'vipllava', vision_config: vision, vision_feature_layers: [] }),
    ).toThrow(/vision_feature_layers must not be an empty list/);
    expect(() =>
      parseLlavaConfig({ model_type: 'vipllava', projector_layernorm_eps: -1, vision_feature_layers: [1] }),
    ).toThrow(/projector_layernorm_eps must be a positive number/);
  });
});

describe('VIP-LLaVA forward', () => {
  it('runs end to end with one image token per patch', () => {
    const out = model.forward({ inputIds: ids, pixelValues: pixels, imageSize: size });
    expect(out.imageFeatures).toHaveLength(16);
    expect(out.logits.every((row) => row.every(Number.isFinite))).toBe(true);
    expect(model.weights.projector.layerNorm?.weight).toHaveLength(3 * HIDDEN);
  });

  it('concatenates the layers in list order: permuting the list and linear_1/norm blocks alike is a no-op', async () => {
    // LayerNorm is equivariant under a permutation of its features, so reordering the blocks of the
    // concatenation, of the norm's weight/bias and of linear_1's columns together leaves the output.
    const order = [2, 0, 1]; // new block b holds old block order[b]
    const permute = (t: EditableTensor): EditableTensor => {
      const rows = t.shape.length === 1 ? 1 : t.shape[0];
      const width = 3 * HIDDEN;
      const data = new Float32Array(t.data.length);
      for (let r = 0; r < rows; r++) {
        order.forEach((old, b) =>
          data.set(
            t.data.subarray(r * width + old * HIDDEN, r * width + (old + 1) * HIDDEN),
            r * width + b * HIDDEN,
          ),
        );
      }
      return { shape: t.shape, data };
    };
    const permuted = await rewritten({
      config: (c) => (c.vision_feature_layers = order.map((i) => (c.vision_feature_layers as number[])[i])),
      tensors: (t) => {
        for (const name of ['projector_layernorm.weight', 'projector_layernorm.bias', 'linear_1.weight']) {
          const full = `multi_modal_projector.${name}`;
          t.set(full, permute(t.get(full)!));
        }
      },
    });
    const features = model.imageFeatures(pixels, size);
    expect(maxDiff(permuted.imageFeatures(pixels, size), features)).toBeLessThan(1e-12);
    // Permuting the list alone does change the features.
    const listOnly = await rewritten({
      config: (c) => (c.vision_feature_layers = order.map((i) => (c.vision_feature_layers as number[])[i])),
    });
    expect(maxDiff(listOnly.imageFeatures(pixels, size), features)).toBeGreaterThan(1e-3);
  });

  it('normalises the concatenation: scaling the selected state is undone (unless eps is large)', async () => {
    // Only state 0 (the embeddings after pre_layrnorm) selected; scaling pre_layrnorm's weight and bias
    // by 4 (exact in float32) scales that state by 4, which the projector LayerNorm (eps → 0) removes exactly.
    const scale = (c: Record<string, unknown>) => {
      c.vision_feature_layers = [0];
      c.projector_layernorm_eps = 1e-12;
    };
    const narrow = (t: Map<string, EditableTensor>) => {
      for (const name of ['projector_layernorm.weight', 'projector_layernorm.bias', 'linear_1.weight']) {
        const full = `multi_modal_projector.${name}`;
        const w = t.get(full)!;
        const rows = w.shape.length === 1 ? 1 : w.shape[0];
        const data = new Float32Array(rows * HIDDEN);
        for (let r = 0; r < rows; r++)
          data.set(w.data.subarray(r * 3 * HIDDEN, r * 3 * HIDDEN + HIDDEN), r * HIDDEN);
        t.set(full, { shape: w.shape.length === 1 ? [HIDDEN] : [rows, HIDDEN], data });
      }
    };
    const times4 = (t: Map<string, EditableTensor>) => {
      for (const name of ['weight', 'bias']) {
        const full = `vision_tower.vision_model.pre_layrnorm.${name}`;
        const w = t.get(full)!;
        t.set(full, { shape: w.shape, data: w.data.map((v) => v * 4) });
      }
    };
    const single = await rewritten({ config: scale, tensors: narrow });
    const scaled = await rewritten({ config: scale, tensors: (t) => (narrow(t), times4(t)) });
    const features = single.imageFeatures(pixels, size);
    expect(maxDiff(scaled.imageFeatures(pixels, size), features)).toBeLessThan(1e-9);
    // The eps is read: a large one no longer hides the scale.
    const bigEps = (c: Record<string, unknown>) => (scale(c), (c.projector_layernorm_eps = 1));
    const a = await rewritten({ config: bigEps, tensors: narrow });
    const b = await rewritten({ config: bigEps, tensors: (t) => (narrow(t), times4(t)) });
    expect(maxDiff(a.imageFeatures(pixels, size), b.imageFeatures(pixels, size))).toBeGreaterThan(1e-3);
  });

  it('legacy, modern and sharded checkpoints agree; F16 and BF16 are close', async () => {
    const reference = model.forward({ inputIds: ids, pixelValues: pixels, imageSize: size });
    for (const options of [{ layout: 'modern' as const }, { layout: 'modern' as const, shards: 3 }]) {
      const other = await ReferenceLlava.load(await fixture(options));
      expect(other.forward({ inputIds: ids, pixelValues: pixels, imageSize: size }).logits).toEqual(
        reference.logits,
      );
    }
    for (const [dtype, tolerance] of [
      ['F16', 0.05],
      ['BF16', 0.5],
    ] as const) {
      const other = await ReferenceLlava.load(await fixture({ dtype }));
      const diff = maxDiff(
        other.forward({ inputIds: ids, pixelValues: pixels, imageSize: size }).logits,
        reference.logits,
      );
      expect(diff).toBeGreaterThan(0);
      expect(diff).toBeLessThan(tolerance);
    }
  });

  it('reports a missing projector_layernorm by name', async () => {
    await expect(
      rewritten({ tensors: (t) => t.delete('multi_modal_projector.projector_layernorm.bias') }),
    ).rejects.toMatchObject({
      code: 'BAD_WEIGHTS',
      message: expect.stringContaining('multi_modal_projector.projector_layernorm.bias'),
    });
  });
});
