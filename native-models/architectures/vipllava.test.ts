import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { describeWeightProblems, type WeightSource } from '../onnx/materialize.ts';
import { WeightStore } from '../safetensors/read.ts';
import { rewriteCheckpoint } from '../testing/rewrite.ts';
import { writeTinyLlava } from '../testing/tinyLlava.ts';
import { architectureFor } from './registry.ts';
import { vipllava } from './vipllava.ts';

/** llava-hf/vip-llava-7b-hf's config.json, less the fields that do not matter here. */
const VIP_LLAVA_7B = {
  architectures: ['VipLlavaForConditionalGeneration'],
  image_token_index: 32000,
  model_type: 'vipllava',
  projector_hidden_act: 'gelu',
  projector_layernorm_eps: 1e-5,
  text_config: { model_type: 'llama', vocab_size: 32064, rms_norm_eps: 1e-5 },
  vision_feature_layers: [-2, -5, -8, -11, 6],
};

const parse = (config: object) => vipllava.parse(config, 'config.json');
const tiny = (extra: object) =>
  parse({
    ...VIP_LLAVA_7B,
    vision_config: {
      hidden_size: 32,
      num_hidden_layers: 3,
      num_attention_heads: 4,
      image_size: 28,
      patch_size: 7,
    },
    vision_feature_layers: [-2, 0],
    ...extra,
  });

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-vipllava-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('vipllava config', () => {
  it('is registered, and reads vip-llava-7b-hf with the CLIP ViT-L/336 default tower', () => {
    expect(architectureFor('vipllava', 'config.json')).toBe(vipllava);
    const spec = parse(VIP_LLAVA_7B);
    expect(spec.modelType).toBe('vipllava');
    // CLS always dropped
    expect(spec.imageTokens).toEqual({
      kind: 'fixed-grid',
      perImage: 576,
      rows: 24,
      cols: 24,
      leadingTokens: 0,
    });
    // hidden_states has 25 entries: −2 → 23, −5 → 20, −8 → 17, −11 → 14, 6 stays.
    expect(spec.summary.visionFeatureLayers).toBe('23,20,17,14,6');
    expect(spec.summary.projectorLayerNormEps).toBe(1e-5);
    const { vision_feature_layers: _, ...withoutLayers } = VIP_LLAVA_7B;
    expect(parse(withoutLayers).summary.visionFeatureLayers).toBe('23,20,17,14,6'); // transformers' default
    expect(parse({ ...VIP_LLAVA_7B, vision_feature_layers: -2 }).summary.visionFeatureLayers).toBe('23');
  });

  it('rejects bad feature layers by name, quoting the value', () => {
    expect(() => tiny({ vision_feature_layers: [] })).toThrow(
      /config\.json\.vision_feature_layers must be a non-empty list, got \[\]/,
    );
    expect(() => tiny({ vision_feature_layers: [-2, 4] })).toThrow(
      /vision_feature_layers must be an integer \(or list of integers\) in \[-4, 3\] \(vision_config\.num_hidden_layers is 3\), got \[-2,4\]/,
    );
    expect(() => tiny({ vision_feature_layers: [-5] })).toThrow(/in \[-4, 3\]/);
    expect(() => tiny({ vision_feature_layers: [1.5] })).toThrow(/in \[-4, 3\]/);
    expect(() => tiny({ vision_feature_layers: '-2' })).toThrow(/vision_feature_layers must be .*got "-2"/);
    expect(() => tiny({ vision_feature_layers: { 0: -2 } })).toThrow(/vision_feature_layers must be/);
    // Absent, transformers' default [-2, -5, -8, -11, 6] does not fit a 3-layer tower: say so.
    expect(() => tiny({ vision_feature_layers: undefined })).toThrow(
      /vision_feature_layers is absent, and transformers' default \[-2,-5,-8,-11,6\] does not fit/,
    );
    expect(() => tiny({ projector_layernorm_eps: 0 })).toThrow(
      /projector_layernorm_eps must be a positive number/,
    );
    expect(() => tiny({ projector_hidden_act: 'mish' })).toThrow(/projector_hidden_act/);
  });
});

describe('vipllava graphs', () => {
  it('put a LayerNorm over the concatenated layers in front of linear_1, in both key layouts', async () => {
    for (const layout of ['legacy', 'modern'] as const) {
      const dir = join(root, `graph-${layout}`);
      await writeTinyLlava(dir, { seed: 1, dtype: 'F32', layout, vipllava: true });
      const store = await WeightStore.open(dir);
      try {
        const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
        const built = parse(config).build(store.names());
        const { vision } = built.graphs;
        const projector = layout === 'legacy' ? 'multi_modal_projector' : 'model.multi_modal_projector';
        const shapes = Object.fromEntries(vision.weights.map((w) => [w.source, w.shape]));
        expect(shapes[`${projector}.projector_layernorm.weight`]).toEqual([96]); // 3 layers × 32
        expect(shapes[`${projector}.projector_layernorm.bias`]).toEqual([96]);
        expect(shapes[`${projector}.linear_1.weight`]).toEqual([64, 96]);
        const norm = vision.graph.nodes.find(
          (n) => n.opType === 'LayerNormalization' && n.name.includes('projector_layernorm'),
        );
        expect(norm?.name).toMatch(/^\/model\/multi_modal_projector\/projector_layernorm\//);
        const linear1 = vision.graph.nodes.find(
          (n) => n.name.includes('/multi_modal_projector/linear_1/') && n.opType === 'MatMul',
        );
        expect(linear1?.inputs[0]).toBe(norm?.outputs[0]);
        expect(built.unexpectedTensors).toEqual([]);
        expect(describeWeightProblems(vision.weights, source(store))).toEqual([]);
      } finally {
        await store.close();
      }
    }
  });

  it('names misshaped projector tensors, and a VIP checkpoint read as llava shows what differs', async () => {
    const dir = join(root, 'vip');
    await writeTinyLlava(dir, { seed: 2, dtype: 'F32', layout: 'legacy', vipllava: true });
    const bad = join(root, 'vip-bad-norm');
    await rewriteCheckpoint(dir, bad, {
      tensors: (t) =>
        t.set('multi_modal_projector.projector_layernorm.weight', {
          shape: [64],
          data: new Float32Array(64),
        }),
    });
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(await problems(bad, config)).toEqual([
      'tensor "multi_modal_projector.projector_layernorm.weight" has shape [64], expected [96]',
    ]);
    // Two feature layers in config.json but three in the weights: linear_1 and the norm do not fit.
    expect(await problems(dir, { ...config, vision_feature_layers: [-2, 1] })).toEqual(
      [
        'tensor "multi_modal_projector.projector_layernorm.weight" has shape [96], expected [64]',
        'tensor "multi_modal_projector.projector_layernorm.bias" has shape [96], expected [64]',
        'tensor "multi_modal_projector.linear_1.weight" has shape [64, 96], expected [64, 64]',
      ].sort(),
    );
    const llavaConfig = {
      ...config,
      model_type: 'llava',
      vision_feature_layer: config.vision_feature_layers,
    };
    const store = await WeightStore.open(dir);
    try {
      const built = architectureFor('llava', 'config.json')
        .parse(llavaConfig, 'config.json')
        .build(store.names());
      expect(built.unexpectedTensors).toEqual([
        'multi_modal_projector.projector_layernorm.bias',
        'multi_modal_projector.projector_layernorm.weight',
      ]);
    } finally {
      await store.close();
    }
  });
});

function source(store: WeightStore): WeightSource {
  return {
    readRaw: (name: string) => store.readRaw(name),
    shapeOf: (name: string) => (store.has(name) ? store.entry(name).shape : undefined),
    dtypeOf: (name: string) => (store.has(name) ? store.entry(name).dtype : undefined),
  };
}

async function problems(dir: string, config: object): Promise<string[]> {
  const store = await WeightStore.open(dir);
  try {
    const built = parse(config).build(store.names());
    return describeWeightProblems(built.graphs.vision.weights, source(store)).sort();
  } finally {
    await store.close();
  }
}
