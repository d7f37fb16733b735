/**
 * The tiny InstructBLIP writer lays checkpoints out as InstructBlipForConditionalGeneration's
 * state_dict names them (modeling_instructblip.py: vision_model, query_tokens, qformer with
 * crossattention only on layers l % cross_attention_frequency == 0 and both feed-forward paths,
 * language_projection, language_model = LlamaForCausalLM), with the processor and tokenizer files.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WeightStore } from '../safetensors/read.ts';
import { writeTinyInstructBlip } from './tinyInstructBlip.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-tiny-instructblip-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The names transformers gives each module's parameters, written out from the modeling code. */
function expectedNames(visionLayers: number, qformerLayers: number, frequency: number, textLayers: number) {
  const names = [
    'vision_model.embeddings.class_embedding',
    'vision_model.embeddings.patch_embedding.weight',
    'vision_model.embeddings.patch_embedding.bias',
    'vision_model.embeddings.position_embedding',
    'vision_model.post_layernorm.weight',
    'vision_model.post_layernorm.bias',
    'query_tokens',
    'qformer.embeddings.word_embeddings.weight',
    'qformer.embeddings.position_embeddings.weight',
    'qformer.embeddings.layernorm.weight',
    'qformer.embeddings.layernorm.bias',
    'language_projection.weight',
    'language_projection.bias',
    'language_model.model.embed_tokens.weight',
    'language_model.model.norm.weight',
    'language_model.lm_head.weight',
  ];
  const wb = (p: string) => [`${p}.weight`, `${p}.bias`];
  for (let i = 0; i < visionLayers; i++) {
    const p = `vision_model.encoder.layers.${i}.`;
    for (const m of [
      'self_attn.qkv',
      'self_attn.projection',
      'layer_norm1',
      'layer_norm2',
      'mlp.fc1',
      'mlp.fc2',
    ])
      names.push(...wb(p + m));
  }
  for (let i = 0; i < qformerLayers; i++) {
    const p = `qformer.encoder.layer.${i}.`;
    const attention = (a: string) =>
      ['attention.query', 'attention.key', 'attention.value', 'output.dense', 'output.LayerNorm'].flatMap(
        (m) => wb(`${p}${a}.${m}`),
      );
    names.push(...attention('attention'));
    if (i % frequency === 0) names.push(...attention('crossattention'));
    for (const m of [
      'intermediate.dense',
      'output.dense',
      'output.LayerNorm',
      'intermediate_query.dense',
      'output_query.dense',
      'output_query.LayerNorm',
    ])
      names.push(...wb(p + m));
  }
  for (let i = 0; i < textLayers; i++) {
    const p = `language_model.model.layers.${i}.`;
    for (const m of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) names.push(`${p}self_attn.${m}.weight`);
    for (const m of ['gate_proj', 'up_proj', 'down_proj']) names.push(`${p}mlp.${m}.weight`);
    names.push(`${p}input_layernorm.weight`, `${p}post_attention_layernorm.weight`);
  }
  return names.sort();
}

describe('writeTinyInstructBlip', () => {
  it.each([
    [1, 2, 3],
    [2, 3, 1],
    [3, 5, 2],
  ])(
    'vision %i layers, Q-Former %i layers, cross-attention every %i: transformers’ names and shapes',
    async (v, q, f) => {
      const dir = join(root, `names-${v}-${q}-${f}`);
      const written = await writeTinyInstructBlip(dir, {
        seed: 1,
        dtype: 'BF16',
        queries: 5,
        vision: { layers: v },
        qformer: { layers: q, crossAttentionFrequency: f },
      });
      expect(written.crossAttentionLayers).toBe(Math.ceil(q / f));
      const store = await WeightStore.open(dir);
      try {
        expect(store.names().sort()).toEqual(expectedNames(v, q, f, 3));
        expect(store.entry('query_tokens').shape).toEqual([1, 5, 32]);
        expect(store.entry('vision_model.encoder.layers.0.self_attn.qkv.weight').shape).toEqual([96, 32]);
        expect(store.entry('vision_model.embeddings.position_embedding').shape).toEqual([1, 17, 32]);
        expect(store.entry('qformer.encoder.layer.0.crossattention.attention.key.weight').shape).toEqual([
          32, 32,
        ]);
        expect(store.entry('language_projection.weight').shape).toEqual([64, 32]);
        expect(store.entry('query_tokens').dtype).toBe('BF16');
      } finally {
        await store.close();
      }
    },
  );

  it('writes InstructBlipConfig, both tokenizers and the BlipImageProcessor files', async () => {
    const dir = join(root, 'files');
    const written = await writeTinyInstructBlip(dir, {
      seed: 2,
      dtype: 'F32',
      queries: 8,
      vision: { hiddenSize: 24, heads: 3 },
    });
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      model_type: 'instructblip',
      num_query_tokens: 8,
      image_token_index: written.imageTokenId,
      vision_config: { hidden_size: 24, image_size: 32, patch_size: 8, qkv_bias: true },
      qformer_config: { cross_attention_frequency: 2, encoder_hidden_size: 24, vocab_size: 103 },
      text_config: { model_type: 'llama', bos_token_id: 1 },
    });
    expect((await readdir(join(dir, 'qformer_tokenizer'))).sort()).toEqual([
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'vocab.txt',
    ]);
    const processor = JSON.parse(await readFile(join(dir, 'preprocessor_config.json'), 'utf8'));
    expect(processor).toMatchObject({
      image_processor_type: 'BlipImageProcessor',
      size: { height: 32, width: 32 },
    });
    const legacy = join(root, 'legacy');
    await writeTinyInstructBlip(legacy, { seed: 2, dtype: 'F32', imageTokenIndex: false });
    expect(JSON.parse(await readFile(join(legacy, 'config.json'), 'utf8'))).not.toHaveProperty(
      'image_token_index',
    );
    const added = JSON.parse(await readFile(join(legacy, 'tokenizer.json'), 'utf8')).added_tokens as {
      content: string;
    }[];
    expect(added.map((t) => t.content)).toEqual(['<unk>', '<s>', '</s>', '<pad>']);
  });
});
