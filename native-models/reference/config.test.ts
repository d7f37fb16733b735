import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ModelFormatError } from '../errors.ts';
import { parseLlavaConfig, readLlavaConfig } from './config.ts';

/** llava-hf/llava-1.5-7b-hf's config.json: most fields are left to the class defaults. */
const LLAVA_15_7B = {
  architectures: ['LlavaForConditionalGeneration'],
  ignore_index: -100,
  image_token_index: 32000,
  model_type: 'llava',
  pad_token_id: 32001,
  projector_hidden_act: 'gelu',
  text_config: {
    _name_or_path: 'lmsys/vicuna-7b-v1.5',
    architectures: ['LlamaForCausalLM'],
    max_position_embeddings: 4096,
    model_type: 'llama',
    rms_norm_eps: 1e-5,
    torch_dtype: 'float16',
    vocab_size: 32064,
  },
  tie_word_embeddings: false,
  torch_dtype: 'float16',
  transformers_version: '4.36.0.dev0',
  vision_config: {
    hidden_size: 1024,
    image_size: 336,
    intermediate_size: 4096,
    model_type: 'clip_vision_model',
    num_attention_heads: 16,
    num_hidden_layers: 24,
    patch_size: 14,
    projection_dim: 768,
    vocab_size: 32000,
  },
  vision_feature_layer: -2,
  vision_feature_select_strategy: 'default',
  vocab_size: 32064,
};

function error(fn: () => unknown): ModelFormatError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    return e as ModelFormatError;
  }
  throw new Error('expected a ModelFormatError');
}

describe('parseLlavaConfig', () => {
  it('fills llava-1.5-7b-hf from the LlamaConfig and CLIPVisionConfig defaults', () => {
    const config = parseLlavaConfig(LLAVA_15_7B);
    expect(config).toEqual({
      imageTokenIndex: 32000,
      projectorHiddenAct: 'gelu',
      projectorBias: true,
      visionFeatureLayer: -2,
      visionFeatureSelectStrategy: 'default',
      imageSeqLength: 576,
      text: {
        modelType: 'llama',
        vocabSize: 32064,
        hiddenSize: 4096,
        intermediateSize: 11008,
        layers: 32,
        heads: 32,
        kvHeads: 32,
        headDim: 128,
        hiddenAct: 'silu',
        rmsNormEps: 1e-5,
        ropeTheta: 10000,
        ropeScaling: { type: 'default' },
        attentionBias: false,
        mlpBias: false,
        tieWordEmbeddings: false,
        slidingWindow: null,
        bosTokenId: 1,
        eosTokenIds: [2],
      },
      vision: {
        hiddenSize: 1024,
        intermediateSize: 4096,
        layers: 24,
        heads: 16,
        headDim: 64,
        imageSize: 336,
        patchSize: 14,
        numChannels: 3,
        hiddenAct: 'quick_gelu',
        layerNormEps: 1e-5,
      },
    });
  });

  it('uses LlavaConfig defaults when the sub-configs are absent', () => {
    const config = parseLlavaConfig({ model_type: 'llava' });
    expect(config.vision).toMatchObject({
      hiddenSize: 1024,
      layers: 24,
      heads: 16,
      imageSize: 336,
      patchSize: 14,
      intermediateSize: 4096,
    });
    expect(config.text).toMatchObject({
      modelType: 'llama',
      hiddenSize: 4096,
      layers: 32,
      vocabSize: 32000,
      rmsNormEps: 1e-6,
    });
    expect(config.imageTokenIndex).toBe(32000);
  });

  it('a present but sparse vision_config gets CLIPVisionConfig defaults, not LLaVA ones', () => {
    const config = parseLlavaConfig({ vision_config: { model_type: 'clip_vision_model' } });
    expect(config.vision).toMatchObject({
      hiddenSize: 768,
      intermediateSize: 3072,
      layers: 12,
      heads: 12,
      imageSize: 224,
      patchSize: 32,
    });
  });

  it('applies MistralConfig defaults', () => {
    const text = parseLlavaConfig({ text_config: { model_type: 'mistral' } }).text;
    expect(text).toMatchObject({
      intermediateSize: 14336,
      heads: 32,
      kvHeads: 8,
      headDim: 128,
      slidingWindow: 4096,
      attentionBias: false,
    });
    expect(
      parseLlavaConfig({ text_config: { model_type: 'mistral', sliding_window: null } }).text.slidingWindow,
    ).toBeNull();
    expect(
      parseLlavaConfig({ text_config: { model_type: 'mistral', num_key_value_heads: null } }).text.kvHeads,
    ).toBe(32);
  });

  it('honours head_dim, GQA, tying, eos lists, rope_parameters and the image_token_id alias', () => {
    const config = parseLlavaConfig({
      image_token_id: 7,
      vision_feature_layer: [-2, -5, 3],
      vision_feature_select_strategy: 'full',
      text_config: {
        hidden_size: 64,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 8,
        tie_word_embeddings: true,
        eos_token_id: [2, 5],
        rope_parameters: { rope_type: 'default', rope_theta: 500000 },
      },
    });
    expect(config.imageTokenIndex).toBe(7);
    expect(config.visionFeatureLayer).toEqual([-2, -5, 3]);
    expect(config.visionFeatureSelectStrategy).toBe('full');
    expect(config.text).toMatchObject({
      headDim: 8,
      kvHeads: 2,
      tieWordEmbeddings: true,
      eosTokenIds: [2, 5],
      ropeTheta: 500000,
    });
    expect(
      parseLlavaConfig({ text_config: { head_dim: null, hidden_size: 96, num_attention_heads: 3 } }).text
        .headDim,
    ).toBe(32);
  });

  it('reads linear and llama3 RoPE scaling (rope_scaling or v5 rope_parameters); llama3 keys are required', () => {
    // llama3-llava-next-8b-hf's text_config (Llama 3.1 scaling).
    const llama3 = {
      rope_type: 'llama3',
      factor: 8.0,
      low_freq_factor: 1.0,
      high_freq_factor: 4.0,
      original_max_position_embeddings: 8192,
    };
    const expected = {
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    };
    const text = parseLlavaConfig({ text_config: { rope_theta: 500000, rope_scaling: llama3 } }).text;
    expect(text.ropeTheta).toBe(500000);
    expect(text.ropeScaling).toEqual(expected);
    const v5 = parseLlavaConfig({ text_config: { rope_parameters: { ...llama3, rope_theta: 500000 } } }).text;
    expect([v5.ropeTheta, v5.ropeScaling]).toEqual([500000, expected]);
    expect(
      parseLlavaConfig({ text_config: { rope_scaling: { type: 'linear', factor: 2 } } }).text.ropeScaling,
    ).toEqual({ type: 'linear', factor: 2 });
    const { low_freq_factor: _, ...missing } = llama3;
    expect(error(() => parseLlavaConfig({ text_config: { rope_scaling: missing } })).message).toMatch(
      /text_config.rope_scaling.low_freq_factor must be a positive number \(got undefined\)/,
    );
  });

  it('rejects what the reference cannot run faithfully', () => {
    expect(error(() => parseLlavaConfig({ text_config: { model_type: 'qwen2' } })).code).toBe(
      'UNSUPPORTED_MODEL',
    );
    expect(error(() => parseLlavaConfig({ vision_config: { model_type: 'siglip_vision_model' } })).code).toBe(
      'UNSUPPORTED_MODEL',
    );
    expect(error(() => parseLlavaConfig({ model_type: 'llava_onevision' })).code).toBe('UNSUPPORTED_MODEL');
    // llava_next is supported, but only with pinpoints made of whole tiles.
    expect(parseLlavaConfig({ model_type: 'llava_next' }).imageGridPinpoints).toHaveLength(5);
    expect(
      error(() => parseLlavaConfig({ model_type: 'llava_next', image_grid_pinpoints: [[336, 500]] })).message,
    ).toMatch(/image_grid_pinpoints \[\[336,500\]\] must be \[height, width\] pairs of multiples of 336/);
    // RoPE scalings other than default, linear and llama3 are refused by name, never ignored.
    for (const key of ['rope_scaling', 'rope_parameters']) {
      for (const scaling of [
        { type: 'dynamic', factor: 2 },
        { rope_type: 'yarn', factor: 4 },
      ]) {
        const refused = error(() => parseLlavaConfig({ text_config: { [key]: scaling } }));
        expect(refused.code).toBe('UNSUPPORTED_MODEL');
        expect(refused.message).toContain(
          `text_config.${key}.rope_type "${'type' in scaling ? scaling.type : scaling.rope_type}" is not supported`,
        );
      }
    }
    expect(error(() => parseLlavaConfig({ text_config: { partial_rotary_factor: 0.5 } })).code).toBe(
      'UNSUPPORTED_MODEL',
    );
    expect(error(() => parseLlavaConfig({ projector_hidden_act: 'tanh' })).message).toMatch(
      /projector_hidden_act "tanh" is not supported/,
    );
  });

  it('rejects inconsistent or malformed values with BAD_CONFIG', () => {
    const cases: Array<[object, RegExp]> = [
      [
        { vision_config: { num_hidden_layers: 2 }, vision_feature_layer: 3 },
        /vision_feature_layer 3 must index the 3 vision hidden states/,
      ],
      [{ vision_config: { num_hidden_layers: 2 }, vision_feature_layer: -4 }, /vision_feature_layer -4/],
      [{ vision_feature_layer: [] }, /must not be an empty list/],
      [{ vision_feature_select_strategy: 'cls' }, /vision_feature_select_strategy "cls"/],
      [
        { text_config: { num_attention_heads: 6, num_key_value_heads: 4 } },
        /not a multiple of num_key_value_heads/,
      ],
      [{ text_config: { hidden_size: 100, num_attention_heads: 3 } }, /hidden_size 100 is not a multiple/],
      [{ text_config: { hidden_size: -5 } }, /text_config\.hidden_size must be an integer ≥ 1 \(got -5\)/],
      [{ text_config: { rms_norm_eps: '1e-6' } }, /rms_norm_eps must be a positive number/],
      [{ text_config: { attention_bias: 'yes' } }, /attention_bias must be true or false/],
      [
        { vision_config: { image_size: 30, patch_size: 7 } },
        /image_size 30 is not a multiple of patch_size 7/,
      ],
      [{ text_config: [] }, /text_config must be an object/],
    ];
    for (const [json, message] of cases) {
      const e = error(() => parseLlavaConfig(json));
      expect(e.code).toBe('BAD_CONFIG');
      expect(e.message).toMatch(message);
    }
  });

  it('readLlavaConfig reports a missing or unparsable file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fusionscope-config-'));
    try {
      await expect(readLlavaConfig(dir)).rejects.toMatchObject({ code: 'MISSING_FILE' });
      await writeFile(join(dir, 'config.json'), '{"model_type": ');
      await expect(readLlavaConfig(dir)).rejects.toMatchObject({
        code: 'BAD_CONFIG',
        message: expect.stringMatching(/not valid JSON/),
      });
      await writeFile(join(dir, 'config.json'), JSON.stringify(LLAVA_15_7B));
      expect((await readLlavaConfig(dir)).text.vocabSize).toBe(32064);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
