/**
 * The tiny Qwen writer produces what the hub's Qwen2-VL / Qwen2.5-VL folders hold: exactly
 * transformers' state_dict names (checked against lists written out by hand from
 * Qwen2VLForConditionalGeneration / Qwen2_5_VLForConditionalGeneration), both config layouts, the
 * same values under both key layouts, the Qwen special tokens in hub order, and the chat template.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Template } from '@huggingface/jinja';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { WeightStore } from '../safetensors/read.ts';
import {
  QWEN_SPECIAL_TOKENS,
  buildTinyQwenTokenizer,
  encodeTinyQwen,
  qwenChatPrompt,
  writeTinyQwen,
  type TinyQwenOptions,
} from './tinyQwen.ts';

let root: string;
let counter = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-tiny-qwen-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const write = async (options: TinyQwenOptions) => {
  const dir = join(root, `model-${counter++}`);
  return { dir, ...(await writeTinyQwen(dir, options)) };
};
const readJson = async (dir: string, file: string) => JSON.parse(await readFile(join(dir, file), 'utf8'));

async function shapes(dir: string): Promise<Record<string, number[]>> {
  const store = await WeightStore.open(dir);
  try {
    return Object.fromEntries(store.names().map((n) => [n, [...store.entry(n).shape]]));
  } finally {
    await store.close();
  }
}

/** One vision block and one decoder layer, legacy names (visual.*, model.*, lm_head). */
function expectedLegacy(qwen25: boolean, vocab: number): Record<string, number[]> {
  const v = 'visual.';
  const out: Record<string, number[]> = { [`${v}patch_embed.proj.weight`]: [32, 3, 2, 4, 4] };
  const norm = (name: string, size: number) => {
    out[`${name}.weight`] = [size];
    if (!qwen25) out[`${name}.bias`] = [size];
  };
  const lin = (name: string, o: number, i: number, bias = true) => {
    out[`${name}.weight`] = [o, i];
    if (bias) out[`${name}.bias`] = [o];
  };
  const b = `${v}blocks.0.`;
  norm(`${b}norm1`, 32);
  norm(`${b}norm2`, 32);
  lin(`${b}attn.qkv`, 96, 32);
  lin(`${b}attn.proj`, 32, 32);
  if (qwen25) {
    lin(`${b}mlp.gate_proj`, 48, 32);
    lin(`${b}mlp.up_proj`, 48, 32);
    lin(`${b}mlp.down_proj`, 32, 48);
  } else {
    lin(`${b}mlp.fc1`, 64, 32);
    lin(`${b}mlp.fc2`, 32, 64);
  }
  norm(`${v}merger.ln_q`, 32);
  lin(`${v}merger.mlp.0`, 128, 128);
  lin(`${v}merger.mlp.2`, 64, 128);
  out['model.embed_tokens.weight'] = [vocab, 64];
  const l = 'model.layers.0.';
  lin(`${l}self_attn.q_proj`, 64, 64);
  lin(`${l}self_attn.k_proj`, 32, 64);
  lin(`${l}self_attn.v_proj`, 32, 64);
  lin(`${l}self_attn.o_proj`, 64, 64, false);
  lin(`${l}mlp.gate_proj`, 128, 64, false);
  lin(`${l}mlp.up_proj`, 128, 64, false);
  lin(`${l}mlp.down_proj`, 64, 128, false);
  out[`${l}input_layernorm.weight`] = [64];
  out[`${l}post_attention_layernorm.weight`] = [64];
  out['model.norm.weight'] = [64];
  out['lm_head.weight'] = [vocab, 64];
  return out;
}

const modernName = (name: string) =>
  name.startsWith('visual.')
    ? `model.${name}`
    : name.startsWith('model.')
      ? `model.language_model.${name.slice('model.'.length)}`
      : name;

describe.each(['qwen2_vl', 'qwen2_5_vl'] as const)('%s checkpoints', (family) => {
  const qwen25 = family === 'qwen2_5_vl';
  const base: TinyQwenOptions = {
    family,
    seed: 5,
    dtype: 'F32',
    layout: 'legacy',
    text: { layers: 1 },
    vision: { depth: 1, fullAttBlockIndexes: [] },
  };

  it('uses exactly transformers’ tensor names and shapes, legacy and modern', async () => {
    const vocab = buildTinyQwenTokenizer().vocabSize;
    const legacy = expectedLegacy(qwen25, vocab);
    expect(await shapes((await write(base)).dir)).toEqual(legacy);
    const modern = Object.fromEntries(Object.entries(legacy).map(([n, s]) => [modernName(n), s]));
    expect(await shapes((await write({ ...base, layout: 'modern' })).dir)).toEqual(modern);
    const tied = await shapes((await write({ ...base, text: { layers: 1, tieWordEmbeddings: true } })).dir);
    expect(tied['lm_head.weight']).toBeUndefined();
  });

  it('holds the same values under both layouts, and BF16 is their rounding', async () => {
    const read = async (options: TinyQwenOptions, name: string) => {
      const store = await WeightStore.open((await write(options)).dir);
      try {
        return { dtype: store.entry(name).dtype, data: await store.readFloat32(name) };
      } finally {
        await store.close();
      }
    };
    const legacy = await read(base, 'visual.blocks.0.attn.qkv.weight');
    const modern = await read({ ...base, layout: 'modern' }, 'model.visual.blocks.0.attn.qkv.weight');
    expect(modern.data).toEqual(legacy.data);
    const bf16 = await read({ ...base, dtype: 'BF16' }, 'visual.blocks.0.attn.qkv.weight');
    expect(bf16.dtype).toBe('BF16');
    bf16.data.forEach((v, i) =>
      expect(Math.abs(v - legacy.data[i])).toBeLessThanOrEqual(Math.abs(legacy.data[i]) / 256),
    );
  });

  it('writes the modern config (text_config, vision_config with model_type) and the flat legacy one', async () => {
    const { dir, config } = await write(base);
    const modern = await readJson(dir, 'config.json');
    expect(modern).toEqual(config);
    expect(modern.model_type).toBe(family);
    expect(modern.text_config.rope_scaling).toEqual({
      mrope_section: [2, 3, 3],
      rope_type: 'default',
      type: 'default',
    });
    expect(modern.vision_config).toMatchObject(
      qwen25
        ? {
            model_type: family,
            hidden_size: 32,
            out_hidden_size: 64,
            window_size: 16,
            fullatt_block_indexes: [],
          }
        : { model_type: family, embed_dim: 32, hidden_size: 64, mlp_ratio: 2 },
    );
    const flat = await readJson((await write({ ...base, configLayout: 'legacy' })).dir, 'config.json');
    expect(flat.text_config).toBeUndefined();
    expect(flat).toMatchObject({
      hidden_size: 64,
      num_hidden_layers: 1,
      rope_scaling: { type: 'mrope', mrope_section: [2, 3, 3] },
      vision_config: { in_chans: 3, spatial_patch_size: 4 },
    });
    const s = buildTinyQwenTokenizer().special;
    for (const c of [modern, flat]) {
      expect(c).toMatchObject({
        image_token_id: s['<|image_pad|>'],
        video_token_id: s['<|video_pad|>'],
        vision_start_token_id: s['<|vision_start|>'],
        vision_end_token_id: s['<|vision_end|>'],
      });
    }
  });

  it('writes a Qwen2VLImageProcessor config whose pixel budget follows the patch factor', async () => {
    const { dir } = await write({ ...base, vision: { patchSize: 14, depth: 1, fullAttBlockIndexes: [] } });
    expect(await readJson(dir, 'preprocessor_config.json')).toMatchObject({
      image_processor_type: 'Qwen2VLImageProcessor',
      patch_size: 14,
      merge_size: 2,
      temporal_patch_size: 2,
      min_pixels: 4 * 28 * 28,
      max_pixels: 64 * 28 * 28,
      size: { shortest_edge: 4 * 28 * 28, longest_edge: 64 * 28 * 28 },
    });
  });
});

describe('tiny Qwen tokenizer', () => {
  it('puts the Qwen special tokens after the byte-level vocabulary, in hub order', () => {
    const tok = buildTinyQwenTokenizer();
    QWEN_SPECIAL_TOKENS.forEach((t, i) => expect(tok.special[t]).toBe(tok.pieces.length + i));
    expect(tok.vocabSize % 16).toBe(0);
    expect(tok.vocabSize).toBeGreaterThanOrEqual(tok.pieces.length + QWEN_SPECIAL_TOKENS.length);
    expect(tok.pieces.slice(0, 256)).toHaveLength(256);
  });

  it('encodes without BOS, special tokens whole, prompt words as single pieces', () => {
    const tok = buildTinyQwenTokenizer();
    const ids = encodeTinyQwen(
      '<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What color is the square?',
    );
    expect(ids.slice(0, 1)).toEqual([tok.special['<|im_start|>']]);
    const pieces = ids.map((id) => tok.pieces[id] ?? QWEN_SPECIAL_TOKENS[id - tok.pieces.length]);
    expect(pieces).toEqual([
      '<|im_start|>',
      'user',
      'Ċ',
      '<|vision_start|>',
      '<|image_pad|>',
      '<|vision_end|>',
      'What',
      'Ġcolor',
      'Ġis',
      'Ġthe',
      'Ġsquare',
      '?',
    ]);
  });

  it('ships the Qwen2-VL chat template, rendering an image part as the vision markers', async () => {
    const { dir } = await write({ family: 'qwen2_vl', seed: 1, dtype: 'F32', layout: 'modern' });
    const config = await readJson(dir, 'tokenizer_config.json');
    expect(config).toMatchObject({ eos_token: '<|im_end|>', pad_token: '<|endoftext|>', bos_token: null });
    const rendered = new Template(config.chat_template).render({
      messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'what color' }] }],
      add_generation_prompt: true,
    });
    expect(rendered).toBe(qwenChatPrompt('what color'));
    expect(await readJson(dir, 'generation_config.json')).toMatchObject({
      eos_token_id: [
        buildTinyQwenTokenizer().special['<|im_end|>'],
        buildTinyQwenTokenizer().special['<|endoftext|>'],
      ],
    });
  });
});
