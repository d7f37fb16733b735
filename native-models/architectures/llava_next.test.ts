import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { describeWeightProblems, type WeightSource } from '../onnx/materialize.ts';
import { WeightStore } from '../safetensors/read.ts';
import { writeTinyLlava } from '../testing/tinyLlava.ts';
import { VISION_IO } from './contract.ts';
import { llavaNext } from './llava_next.ts';
import { architectureFor } from './registry.ts';

/** llava-hf/llava-v1.6-mistral-7b-hf's config.json, less the fields that do not matter here. */
const LLAVA_V16_MISTRAL = {
  architectures: ['LlavaNextForConditionalGeneration'],
  image_grid_pinpoints: [
    [336, 672],
    [672, 336],
    [672, 672],
    [1008, 336],
    [336, 1008],
  ],
  image_token_index: 32000,
  model_type: 'llava_next',
  projector_hidden_act: 'gelu',
  text_config: {
    model_type: 'mistral',
    vocab_size: 32064,
    rms_norm_eps: 1e-5,
    rope_theta: 1000000.0,
    sliding_window: null,
  },
  vision_config: {
    hidden_size: 1024,
    image_size: 336,
    intermediate_size: 4096,
    num_attention_heads: 16,
    num_hidden_layers: 24,
    patch_size: 14,
    projection_dim: 768,
    vocab_size: 32000,
  },
  vision_feature_layer: -2,
  vision_feature_select_strategy: 'default',
};

const parse = (config: object) => llavaNext.parse(config, 'config.json');

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-llava-next-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('llava_next config', () => {
  it('is registered, and reads llava-v1.6-mistral-7b-hf as an any-resolution scheme', () => {
    expect(architectureFor('llava_next', 'config.json')).toBe(llavaNext);
    const spec = parse(LLAVA_V16_MISTRAL);
    expect(spec.modelType).toBe('llava_next');
    expect(spec.imageTokens).toEqual({
      kind: 'anyres',
      patchSize: 14,
      tileSize: 336,
      featureSelectStrategy: 'default',
      clsTokens: 1,
      imageNewline: true,
      pinpoints: LLAVA_V16_MISTRAL.image_grid_pinpoints.map(([height, width]) => ({ height, width })),
    });
    expect(spec.imageSize).toEqual({ height: 336, width: 336 });
    expect(spec.summary).toMatchObject({
      textModel: 'mistral',
      imageGridPinpoints: '336x672,672x336,672x672,1008x336,336x1008',
    });
  });

  it('reads Mistral with sliding_window null as full attention, and a set window as given', () => {
    expect(parse(LLAVA_V16_MISTRAL)).toMatchObject({
      slidingWindow: undefined,
      decoder: { modelType: 'mistral', heads: 32, kvHeads: 8, ropeTheta: 1e6 },
      summary: { ropeScaling: 'default', slidingWindow: 'none' },
    });
    const windowed = { ...LLAVA_V16_MISTRAL.text_config, sliding_window: 4096 };
    expect(parse({ ...LLAVA_V16_MISTRAL, text_config: windowed }).slidingWindow).toBe(4096);
  });

  it('reads a Llama-3 text model with llama3 RoPE scaling, and refuses RoPE types it does not implement', () => {
    const llama3 = {
      ...LLAVA_V16_MISTRAL,
      text_config: {
        model_type: 'llama',
        vocab_size: 128256,
        hidden_size: 4096,
        intermediate_size: 14336,
        num_key_value_heads: 8,
        rope_theta: 500000.0,
        rope_scaling: {
          rope_type: 'llama3',
          factor: 8.0,
          low_freq_factor: 1.0,
          high_freq_factor: 4.0,
          original_max_position_embeddings: 8192,
        },
      },
    };
    const spec = parse(llama3);
    expect(spec.decoder).toMatchObject({
      modelType: 'llama',
      vocabSize: 128256,
      kvHeads: 8,
      ropeTheta: 500000,
    });
    expect(spec.summary).toMatchObject({
      textModel: 'llama',
      ropeScaling: 'llama3 ×8 (low 1, high 4, original 8192)',
      slidingWindow: 'none',
    });
    // Scaled tables differ from plain ones where the long wavelengths have turned.
    const [scaled, plain] = [
      spec,
      parse({ ...llama3, text_config: { ...llama3.text_config, rope_scaling: null } }),
    ].map((s) => s.ropeTables([[5000]]).cos);
    expect(scaled).not.toEqual(plain);
    for (const rope_scaling of [{ type: 'dynamic', factor: 2 }, { rope_type: 'longrope' }]) {
      expect(() => parse({ ...llama3, text_config: { ...llama3.text_config, rope_scaling } })).toThrow(
        /config.json.text_config.rope_scaling.(rope_)?type "(dynamic|longrope)" is not supported \(supported: default, linear, llama3\)/,
      );
    }
  });

  it("defaults image_grid_pinpoints to LlavaNextConfig's", () => {
    const { image_grid_pinpoints: _, ...rest } = LLAVA_V16_MISTRAL;
    const spec = parse(rest);
    expect(spec.imageTokens.kind === 'anyres' && spec.imageTokens.pinpoints).toHaveLength(5);
  });

  it('rejects pinpoints that are not whole tiles, "full" on a CLIP tower and several feature layers', () => {
    expect(() =>
      parse({
        ...LLAVA_V16_MISTRAL,
        image_grid_pinpoints: [
          [336, 672],
          [336, 500],
        ],
      }),
    ).toThrow(
      'config.json.image_grid_pinpoints[1] must be a [height, width] pair of multiples of vision_config.image_size (336), got [336,500]',
    );
    expect(() => parse({ ...LLAVA_V16_MISTRAL, image_grid_pinpoints: [] })).toThrow(
      'image_grid_pinpoints must be a non-empty list',
    );
    expect(() => parse({ ...LLAVA_V16_MISTRAL, vision_feature_select_strategy: 'full' })).toThrow(
      /vision_feature_select_strategy must be "default" for a CLIP tower .* got "full"/,
    );
    expect(() => parse({ ...LLAVA_V16_MISTRAL, vision_feature_layer: [-2, -5] })).toThrow(
      'vision_feature_layer must be a single integer for llava_next',
    );
  });
});

describe('llava_next graphs', () => {
  it('stack base + tiles, gather by image_token_index with image_newline, in both key layouts', async () => {
    for (const layout of ['legacy', 'modern'] as const) {
      const dir = join(root, layout);
      const { config } = await writeTinyLlava(dir, { seed: 5, dtype: 'F32', layout, llavaNext: {} });
      const store = await WeightStore.open(dir);
      try {
        const built = parse(config).build(store.names());
        expect(built.unexpectedTensors).toEqual([]);
        const vision = built.graphs.vision;
        const newline = layout === 'legacy' ? 'image_newline' : 'model.image_newline';
        expect(vision.weights.map((w) => w.source)).toContain(newline);
        const source: WeightSource = {
          shapeOf: (n) => (store.has(n) ? store.entry(n).shape : undefined),
          dtypeOf: (n) => (store.has(n) ? store.entry(n).dtype : undefined),
          readRaw: (n) => store.readRaw(n),
        };
        expect(describeWeightProblems(vision.weights, source)).toEqual([]);
        const json = JSON.stringify(vision);
        expect(json).toContain(VISION_IO.tokenIndex);
        expect(json).toContain('/model/pack/Gather');
      } finally {
        await store.close();
      }
    }
  });

  it('a checkpoint without image_newline is one clear weight problem', async () => {
    const dir = join(root, 'no-newline');
    const { config } = await writeTinyLlava(dir, {
      seed: 5,
      dtype: 'F32',
      layout: 'modern',
      llavaNext: { omitImageNewline: true },
    });
    const store = await WeightStore.open(dir);
    try {
      const vision = parse(config).build(store.names()).graphs.vision;
      const source: WeightSource = {
        shapeOf: (n) => (store.has(n) ? store.entry(n).shape : undefined),
        dtypeOf: (n) => (store.has(n) ? store.entry(n).dtype : undefined),
        readRaw: (n) => store.readRaw(n),
      };
      expect(describeWeightProblems(vision.weights, source)).toEqual([
        'missing tensor "model.image_newline" (expected shape [64])',
      ]);
    } finally {
      await store.close();
    }
  });
});
