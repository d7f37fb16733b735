import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Template } from '@huggingface/jinja';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseLlavaConfig } from '../reference/config.ts';
import { floatToBf16, floatToHalf, halfToFloat } from '../safetensors/dtypes.ts';
import { WeightStore } from '../safetensors/read.ts';
import { writeTinyLlava, type TinyLlavaOptions } from './tinyLlava.ts';
import { SPACE, TARGET_WORDS, buildTinyTokenizer, encodeTiny } from './tinyTokenizer.ts';

let root: string;
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-tiny-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function write(options: Partial<TinyLlavaOptions> = {}) {
  const dir = join(root, `model-${counter++}`);
  const result = await writeTinyLlava(dir, { seed: 11, dtype: 'F32', layout: 'legacy', ...options });
  return { dir, ...result };
}

const readJson = async (dir: string, file: string) => JSON.parse(await readFile(join(dir, file), 'utf8'));

async function tensors(
  dir: string,
): Promise<Map<string, { shape: readonly number[]; data: Float32Array; dtype: string }>> {
  const store = await WeightStore.open(dir);
  try {
    const out = new Map<string, { shape: readonly number[]; data: Float32Array; dtype: string }>();
    for (const name of store.names()) {
      const entry = store.entry(name);
      out.set(name, { shape: entry.shape, dtype: entry.dtype, data: await store.readFloat32(name) });
    }
    return out;
  } finally {
    await store.close();
  }
}

/** The HF names and shapes of the default tiny model, under the legacy prefixes. */
function expectedLegacyShapes(vocab: number): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const v = 'vision_tower.vision_model.';
  shapes.set(`${v}embeddings.class_embedding`, [32]);
  shapes.set(`${v}embeddings.patch_embedding.weight`, [32, 3, 7, 7]);
  shapes.set(`${v}embeddings.position_embedding.weight`, [17, 32]);
  for (const norm of ['pre_layrnorm', 'post_layernorm'])
    for (const p of ['weight', 'bias']) shapes.set(`${v}${norm}.${p}`, [32]);
  for (let i = 0; i < 3; i++) {
    const l = `${v}encoder.layers.${i}.`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      shapes.set(`${l}self_attn.${proj}.weight`, [32, 32]);
      shapes.set(`${l}self_attn.${proj}.bias`, [32]);
    }
    for (const norm of ['layer_norm1', 'layer_norm2'])
      for (const p of ['weight', 'bias']) shapes.set(`${l}${norm}.${p}`, [32]);
    shapes.set(`${l}mlp.fc1.weight`, [64, 32]);
    shapes.set(`${l}mlp.fc1.bias`, [64]);
    shapes.set(`${l}mlp.fc2.weight`, [32, 64]);
    shapes.set(`${l}mlp.fc2.bias`, [32]);
  }
  shapes.set('multi_modal_projector.linear_1.weight', [64, 32]);
  shapes.set('multi_modal_projector.linear_1.bias', [64]);
  shapes.set('multi_modal_projector.linear_2.weight', [64, 64]);
  shapes.set('multi_modal_projector.linear_2.bias', [64]);
  const t = 'language_model.model.';
  shapes.set(`${t}embed_tokens.weight`, [vocab, 64]);
  for (let i = 0; i < 3; i++) {
    const l = `${t}layers.${i}.`;
    shapes.set(`${l}self_attn.q_proj.weight`, [64, 64]);
    shapes.set(`${l}self_attn.k_proj.weight`, [32, 64]);
    shapes.set(`${l}self_attn.v_proj.weight`, [32, 64]);
    shapes.set(`${l}self_attn.o_proj.weight`, [64, 64]);
    shapes.set(`${l}mlp.gate_proj.weight`, [128, 64]);
    shapes.set(`${l}mlp.up_proj.weight`, [128, 64]);
    shapes.set(`${l}mlp.down_proj.weight`, [64, 128]);
    shapes.set(`${l}input_layernorm.weight`, [64]);
    shapes.set(`${l}post_attention_layernorm.weight`, [64]);
  }
  shapes.set(`${t}norm.weight`, [64]);
  shapes.set('language_model.lm_head.weight', [vocab, 64]);
  return shapes;
}

function toModern(name: string): string {
  if (name === 'language_model.lm_head.weight') return 'lm_head.weight';
  if (name.startsWith('language_model.model.'))
    return `model.language_model.${name.slice('language_model.model.'.length)}`;
  return `model.${name}`;
}

describe('writeTinyLlava', () => {
  it('writes the files of a llava-hf folder', async () => {
    const { dir } = await write();
    expect((await readdir(dir)).sort()).toEqual([
      'added_tokens.json',
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'preprocessor_config.json',
      'processor_config.json',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
  });

  it('writes a LlavaConfig-shaped config.json that agrees with the tokenizer', async () => {
    const { dir, config, imageTokenId, imageTokensPerImage } = await write();
    const json = await readJson(dir, 'config.json');
    expect(json).toEqual(config);
    expect(json).toMatchObject({
      model_type: 'llava',
      architectures: ['LlavaForConditionalGeneration'],
      image_token_index: imageTokenId,
      image_seq_length: 16,
      projector_hidden_act: 'gelu',
      vision_feature_layer: -2,
      vision_feature_select_strategy: 'default',
      text_config: {
        model_type: 'llama',
        hidden_size: 64,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        num_hidden_layers: 3,
      },
      vision_config: {
        model_type: 'clip_vision_model',
        image_size: 28,
        patch_size: 7,
        hidden_size: 32,
        hidden_act: 'quick_gelu',
      },
    });
    expect(imageTokensPerImage).toBe(16);
    const tokenizer = await readJson(dir, 'tokenizer.json');
    const ids = [
      ...Object.values(tokenizer.model.vocab),
      ...tokenizer.added_tokens.map((t: { id: number }) => t.id),
    ] as number[];
    expect(json.text_config.vocab_size).toBe(Math.max(...ids) + 1);
    expect(tokenizer.added_tokens.find((t: { content: string }) => t.content === '<image>').id).toBe(
      imageTokenId,
    );
    expect(json.pad_token_id).toBe(
      tokenizer.added_tokens.find((t: { content: string }) => t.content === '<pad>').id,
    );
    const parsed = parseLlavaConfig(json);
    expect(parsed.text.vocabSize).toBe(json.text_config.vocab_size);
    expect((await write({ visionFeatureSelectStrategy: 'full' })).imageTokensPerImage).toBe(17);
  });

  it('writes a MistralConfig (sliding_window, no attention_bias) or a rope_scaling when asked', async () => {
    const mistral = await write({ text: { modelType: 'mistral', slidingWindow: null } });
    const textConfig = (config: object) => (config as { text_config: Record<string, unknown> }).text_config;
    const text = textConfig(mistral.config);
    expect(text).toMatchObject({ model_type: 'mistral', architectures: ['MistralForCausalLM'] });
    expect(text.sliding_window).toBeNull();
    expect('attention_bias' in text).toBe(false);
    const windowed = await write({ text: { modelType: 'mistral', slidingWindow: 9 } });
    expect(parseLlavaConfig(windowed.config).text).toMatchObject({ modelType: 'mistral', slidingWindow: 9 });
    const scaling = { rope_type: 'linear', factor: 2 };
    const scaled = await write({ text: { ropeScaling: scaling } });
    expect(textConfig(scaled.config).rope_scaling).toEqual(scaling);
    await expect(write({ text: { slidingWindow: 9 } })).rejects.toThrow(/Mistral option/);
    await expect(write({ text: { modelType: 'mistral', attentionBias: true } })).rejects.toThrow(
      /no attention biases/,
    );
  });

  it('uses the exact Hugging Face tensor names and shapes, in both layouts', async () => {
    const { dir, config } = await write();
    const vocab = (config as { text_config: { vocab_size: number } }).text_config.vocab_size;
    const expected = expectedLegacyShapes(vocab);
    const legacy = await tensors(dir);
    expect([...legacy.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, shape] of expected) expect(legacy.get(name)!.shape, name).toEqual(shape);

    const modern = await tensors((await write({ layout: 'modern' })).dir);
    expect([...modern.keys()].sort()).toEqual([...expected.keys()].map(toModern).sort());
    for (const [name, t] of legacy) expect(modern.get(toModern(name))!.data, name).toEqual(t.data);

    const tied = await tensors((await write({ text: { tieWordEmbeddings: true } })).dir);
    expect(tied.has('language_model.lm_head.weight')).toBe(false);
    expect(tied.size).toBe(expected.size - 1);

    const biased = await tensors((await write({ text: { attentionBias: true, headDim: 8 } })).dir);
    const l0 = 'language_model.model.layers.0.self_attn.';
    expect(biased.get(`${l0}q_proj.weight`)!.shape).toEqual([32, 64]);
    expect(biased.get(`${l0}k_proj.weight`)!.shape).toEqual([16, 64]);
    expect(biased.get(`${l0}o_proj.weight`)!.shape).toEqual([64, 32]);
    for (const [p, n] of [
      ['q', 32],
      ['k', 16],
      ['v', 16],
      ['o', 64],
    ] as const) {
      expect(biased.get(`${l0}${p}_proj.bias`)!.shape).toEqual([n]);
    }
    const multi = await tensors((await write({ visionFeatureLayer: [-3, -2, -1] })).dir);
    expect(multi.get('multi_modal_projector.linear_1.weight')!.shape).toEqual([64, 96]);
  });

  it('is deterministic in the seed', async () => {
    const a = await write();
    const b = await write();
    for (const file of await readdir(a.dir)) {
      expect((await readFile(join(b.dir, file))).equals(await readFile(join(a.dir, file))), file).toBe(true);
    }
    const other = await tensors((await write({ seed: 12 })).dir);
    const mine = await tensors(a.dir);
    expect(other.get('language_model.model.norm.weight')!.data).not.toEqual(
      mine.get('language_model.model.norm.weight')!.data,
    );
  });

  it('keeps activations O(1): norms near 1, projections scaled by fan-in', async () => {
    const t = await tensors((await write()).dir);
    const rms = (d: Float32Array) => Math.sqrt(d.reduce((s, v) => s + v * v, 0) / d.length);
    expect(Math.abs(rms(t.get('language_model.model.norm.weight')!.data) - 1)).toBeLessThan(0.1);
    expect(rms(t.get('language_model.model.layers.0.self_attn.q_proj.weight')!.data)).toBeCloseTo(1.6 / 8, 1);
    expect(rms(t.get('language_model.model.embed_tokens.weight')!.data)).toBeCloseTo(1, 1);
  });

  it('F16 and BF16 checkpoints hold the F32 values rounded to nearest even', async () => {
    const f32 = await tensors((await write()).dir);
    const f16 = await tensors((await write({ dtype: 'F16' })).dir);
    const bf16 = await tensors((await write({ dtype: 'BF16', layout: 'modern' })).dir);
    const widenBf16 = (bits: number) => new Float32Array(new Uint32Array([bits << 16]).buffer)[0];
    let compared = 0;
    const mismatches: string[] = [];
    for (const [name, { data }] of f32) {
      const half = f16.get(name)!;
      const brain = bf16.get(toModern(name))!;
      expect(half.dtype).toBe('F16');
      expect(brain.dtype).toBe('BF16');
      for (let i = 0; i < data.length; i++) {
        if (half.data[i] !== halfToFloat(floatToHalf(data[i]))) mismatches.push(`F16 ${name}[${i}]`);
        if (brain.data[i] !== widenBf16(floatToBf16(data[i]))) mismatches.push(`BF16 ${name}[${i}]`);
        compared++;
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(compared).toBeGreaterThan(50000);
    const json = await readJson((await write({ dtype: 'F16' })).dir, 'config.json');
    expect(json.torch_dtype).toBe('float16');
  });

  it('shards into model-0000k-of-0000n files with a consistent index', async () => {
    const { dir } = await write({ shards: 3 });
    const files = (await readdir(dir)).filter((f) => f.endsWith('.safetensors')).sort();
    expect(files).toEqual([
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
    ]);
    const index = await readJson(dir, 'model.safetensors.index.json');
    const single = await tensors((await write()).dir);
    expect(Object.keys(index.weight_map).sort()).toEqual([...single.keys()].sort());
    expect(index.metadata.total_size).toBe([...single.values()].reduce((s, t) => s + t.data.length * 4, 0));
    const sharded = await tensors(dir);
    for (const [name, t] of single) expect(sharded.get(name)!.data).toEqual(t.data);
    const store = await WeightStore.open(dir);
    try {
      const used = new Set(store.names().map((n) => store.entry(n).file));
      expect(used.size).toBe(3);
      for (const name of store.names())
        expect(store.entry(name).file).toBe(join(dir, index.weight_map[name]));
    } finally {
      await store.close();
    }
  });

  it('writes the processor files', async () => {
    const { dir } = await write();
    expect(await readJson(dir, 'preprocessor_config.json')).toMatchObject({
      image_processor_type: 'CLIPImageProcessor',
      crop_size: { height: 28, width: 28 },
      size: { shortest_edge: 28 },
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
      resample: 3,
      rescale_factor: 1 / 255,
      do_center_crop: true,
    });
    const llava = await readJson(
      (await write({ imageProcessor: 'LlavaImageProcessor', vision: { imageSize: 42, patchSize: 14 } })).dir,
      'preprocessor_config.json',
    );
    expect(llava).toMatchObject({
      image_processor_type: 'LlavaImageProcessor',
      do_pad: true,
      crop_size: { height: 42, width: 42 },
    });
    expect(await readJson(dir, 'processor_config.json')).toMatchObject({
      patch_size: 7,
      vision_feature_select_strategy: 'default',
    });
  });
});

describe('tiny tokenizer', () => {
  it('is a Llama SentencePiece BPE with byte fallback and consistent merges', async () => {
    const { dir } = await write();
    const json = await readJson(dir, 'tokenizer.json');
    const vocab = json.model.vocab as Record<string, number>;
    expect(json.model).toMatchObject({
      type: 'BPE',
      byte_fallback: true,
      fuse_unk: true,
      unk_token: '<unk>',
    });
    expect([vocab['<unk>'], vocab['<s>'], vocab['</s>']]).toEqual([0, 1, 2]);
    for (let b = 0; b < 256; b++)
      expect(vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`]).toBe(3 + b);
    const ids = Object.values(vocab).sort((a, b) => a - b);
    expect(ids).toEqual(ids.map((_, i) => i));
    expect(json.model.merges.length).toBeGreaterThan(200);
    for (const merge of json.model.merges as string[]) {
      const [a, b] = merge.split(' ');
      expect(vocab[a] !== undefined && vocab[b] !== undefined && vocab[a + b] !== undefined, merge).toBe(
        true,
      );
    }
    expect(json.added_tokens.map((t: { content: string }) => t.content)).toEqual([
      '<unk>',
      '<s>',
      '</s>',
      '<image>',
      '<pad>',
    ]);
    expect(json.added_tokens.slice(3).map((t: { id: number }) => t.id)).toEqual([ids.length, ids.length + 1]);
    expect(json.normalizer.normalizers.map((n: { type: string }) => n.type)).toEqual(['Prepend', 'Replace']);
    expect(json.decoder.decoders.map((d: { type: string }) => d.type)).toEqual([
      'Replace',
      'ByteFallback',
      'Fuse',
      'Strip',
    ]);
    expect(json.post_processor.single[0]).toEqual({ SpecialToken: { id: '<s>', type_id: 0 } });
  });

  it('has one token for each prompt word', () => {
    const tokenizer = buildTinyTokenizer();
    for (const word of [...TARGET_WORDS, 'USER', 'ASSISTANT']) {
      expect(tokenizer.ids.has(SPACE + word), word).toBe(true);
      const capital = word[0].toUpperCase() + word.slice(1);
      expect(tokenizer.ids.has(SPACE + capital) && tokenizer.ids.has(capital), capital).toBe(true);
    }
  });

  it('encodes a llava prompt the way the Hugging Face pipeline does', () => {
    const tokenizer = buildTinyTokenizer();
    const ids = encodeTiny(tokenizer, 'USER: <image>\nWhat color is the square? ASSISTANT: Red');
    const pieces = ids.map((id) =>
      id < tokenizer.pieces.length ? tokenizer.pieces[id] : tokenizer.added[id - tokenizer.pieces.length],
    );
    // Legacy Llama behaviour: each text piece after an added token gets its own "▁"; "\n" falls back to bytes.
    expect(pieces).toEqual([
      '<s>',
      '▁USER',
      ':',
      '▁',
      '<image>',
      '▁',
      '<0x0A>',
      'What',
      '▁color',
      '▁is',
      '▁the',
      '▁square',
      '?',
      '▁ASSISTANT',
      ':',
      '▁Red',
    ]);
    const bytes = encodeTiny(tokenizer, 'é', { addBos: false });
    expect(bytes).toEqual([tokenizer.ids.get('▁')!, 3 + 0xc3, 3 + 0xa9]);
  });

  it('writes tokenizer_config.json with an optional chat template that renders the llava prompt', async () => {
    const plain = await readJson((await write()).dir, 'tokenizer_config.json');
    expect(plain).toMatchObject({
      add_bos_token: true,
      bos_token: '<s>',
      eos_token: '</s>',
      pad_token: '<pad>',
      tokenizer_class: 'LlamaTokenizer',
    });
    expect(plain.chat_template).toBeUndefined();
    const config = await readJson((await write({ chatTemplate: true })).dir, 'tokenizer_config.json');
    const rendered = new Template(config.chat_template).render({
      messages: [
        { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What color is the square?' }] },
      ],
      add_generation_prompt: true,
    });
    expect(rendered).toBe('USER: <image>\nWhat color is the square? ASSISTANT:');
  });
});
