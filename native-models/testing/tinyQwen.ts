/**
 * Tiny random Qwen2-VL (`qwen2_vl`) and Qwen2.5-VL (`qwen2_5_vl`) checkpoints laid out exactly like a
 * Hugging Face Qwen folder: config.json (the modern `text_config`/`vision_config` layout, or the flat
 * legacy one the hub's Qwen2-VL-2B-Instruct ships), safetensors under the legacy (`model.layers…`,
 * `visual…`, `lm_head.weight`) or the modern (`model.language_model…`, `model.visual…`) tensor names,
 * a real byte-level BPE tokenizer (Qwen2's split pattern, the Qwen special tokens in their hub order),
 * the Qwen2-VL chat template, a Qwen2VLImageProcessor preprocessor config and generation_config.json.
 *
 * Weights follow tinyLlava.ts: each tensor drawn from its own PRNG stream seeded by (seed, logical
 * name), so both key layouts and every dtype hold the same values before rounding; q/k scales make
 * attention clearly non-uniform.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  TORCH_DTYPE,
  addedTokenDecoder,
  addedTokenEntry,
  decoderConfigFields,
  writeMaterializedWeights,
  type WeightsWriter,
  writeJson,
  type Param,
  type TinyDecoderSizes,
} from './checkpointFiles.ts';
import { TARGET_WORDS, applyMerge, trainMerges } from './tinyTokenizer.ts';
import { OPENAI_CLIP_MEAN, OPENAI_CLIP_STD } from './tinyLlava.ts';

export type QwenFamily = 'qwen2_vl' | 'qwen2_5_vl';

export interface TinyQwenTextOptions extends TinyDecoderSizes {
  /** Sums to head_dim / 2 (head_dim = hiddenSize / heads). */
  mropeSection: [number, number, number];
}

export interface TinyQwenVisionOptions {
  depth: number;
  /** embed_dim (Qwen2-VL) / hidden_size (Qwen2.5-VL): the tower's width. */
  width: number;
  heads: number;
  /** Qwen2-VL: width · mlp_ratio; Qwen2.5-VL: intermediate_size. */
  intermediateSize: number;
  patchSize: number;
  mergeSize: number;
  temporalPatchSize: number;
  /** Qwen2.5-VL: window_size in pixels (windows of window_size / patch / merge merged tokens a side). */
  windowSize: number;
  /** Qwen2.5-VL: blocks with full attention; the others attend within windows. */
  fullAttBlockIndexes: number[];
}

export interface TinyQwenOptions {
  family: QwenFamily;
  seed: number;
  dtype: 'F32' | 'F16' | 'BF16';
  /** legacy: model.layers…, model.embed_tokens…, visual…, lm_head.weight;
   *  modern: model.language_model…, model.visual…, lm_head.weight */
  layout: 'legacy' | 'modern';
  /** config.json: 'modern' (text_config + vision_config) or 'legacy' (text fields at the top level). */
  configLayout?: 'legacy' | 'modern';
  text?: Partial<TinyQwenTextOptions>;
  vision?: Partial<TinyQwenVisionOptions>;
  /**
   * The processor's min_pixels / max_pixels; default 4 and 64 merged tokens' worth (f = patch · merge:
   * 4f² and 64f², 256 and 4096 px at patch 4), so test images stay a few hundred patches at most.
   */
  minPixels?: number;
  maxPixels?: number;
  /** config vocab_size and embedding rows, when larger than the tokenizer's (a hub shape's 151936). */
  vocabSize?: number;
  /** How the weights reach disk (default: materialised, seeded normals; benchmarks stream them). */
  writeWeights?: WeightsWriter;
}

export const TINY_QWEN_TEXT_DEFAULTS: TinyQwenTextOptions = {
  hiddenSize: 64,
  layers: 3,
  heads: 4,
  kvHeads: 2,
  intermediateSize: 128,
  ropeTheta: 10000,
  rmsNormEps: 1e-6,
  mropeSection: [2, 3, 3],
  tieWordEmbeddings: false,
};

export const TINY_QWEN_VISION_DEFAULTS: Record<QwenFamily, TinyQwenVisionOptions> = {
  qwen2_vl: {
    depth: 2,
    width: 32,
    heads: 4,
    intermediateSize: 64,
    patchSize: 4,
    mergeSize: 2,
    temporalPatchSize: 2,
    windowSize: 0,
    fullAttBlockIndexes: [],
  },
  qwen2_5_vl: {
    depth: 4,
    width: 32,
    heads: 4,
    intermediateSize: 48,
    patchSize: 4,
    mergeSize: 2,
    temporalPatchSize: 2,
    // 16 px = 2 × 2 merged tokens a window: test images span several windows, ragged at the edges.
    windowSize: 16,
    fullAttBlockIndexes: [1, 3],
  },
};

// ---------------------------------------------------------------------------------------------------
// Tokenizer: byte-level BPE as Qwen2's tokenizer.json serialises it.
// ---------------------------------------------------------------------------------------------------

/** Qwen's added tokens, in the order (and so the relative ids) of the hub's Qwen2-VL tokenizer. */
export const QWEN_SPECIAL_TOKENS = [
  '<|endoftext|>',
  '<|im_start|>',
  '<|im_end|>',
  '<|object_ref_start|>',
  '<|object_ref_end|>',
  '<|box_start|>',
  '<|box_end|>',
  '<|quad_start|>',
  '<|quad_end|>',
  '<|vision_start|>',
  '<|vision_end|>',
  '<|vision_pad|>',
  '<|image_pad|>',
  '<|video_pad|>',
] as const;

/** Qwen2's pre-tokenizer split (tokenizer.json form, with the scoped case-insensitive group). */
export const QWEN2_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// The same pattern for JavaScript, which has no (?i:…) groups.
const SPLIT =
  /'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** GPT-2's byte → printable character map. */
const BYTE_TO_CHAR: string[] = (() => {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(printable(b) ? b : 256 + extra++));
  return out;
})();

const toByteLevel = (text: string): string =>
  Array.from(Buffer.from(text, 'utf8'), (b) => BYTE_TO_CHAR[b]).join('');

const CORPUS_WORDS = [
  ...TARGET_WORDS,
  'system',
  'user',
  'assistant',
  'You',
  'are',
  'helpful',
  'Answer',
  'answer',
  'with',
  'single',
  'word',
  'image',
  'picture',
  'and',
  'this',
  'in',
  'big',
  'small',
  'how',
  'many',
];

export interface TinyQwenTokenizer {
  /** Byte-level base vocabulary, id = index: the 256 byte characters, then merged pieces. */
  pieces: string[];
  merges: Array<[string, string]>;
  /** QWEN_SPECIAL_TOKENS' ids (after the base vocabulary). */
  special: Record<(typeof QWEN_SPECIAL_TOKENS)[number], number>;
  ids: Map<string, number>;
  /** config vocab_size: the tokenizer's size rounded up to a multiple of 16 (like Qwen's padded 151936). */
  vocabSize: number;
}

let cachedTokenizer: TinyQwenTokenizer | undefined;

/** BPE trained on the prompt words (with and without a leading space, and capitalised). */
export function buildTinyQwenTokenizer(): TinyQwenTokenizer {
  if (cachedTokenizer) return cachedTokenizer;
  const corpus = new Map<string, number>();
  for (const word of CORPUS_WORDS) {
    for (const form of [word, word[0].toUpperCase() + word.slice(1)]) {
      corpus.set(toByteLevel(' ' + form), (corpus.get(toByteLevel(' ' + form)) ?? 0) + 5);
      corpus.set(toByteLevel(form), (corpus.get(toByteLevel(form)) ?? 0) + 2);
    }
  }
  const merges = trainMerges(corpus);
  const pieces = [...BYTE_TO_CHAR];
  for (const [l, r] of merges) if (!pieces.includes(l + r)) pieces.push(l + r);
  const ids = new Map<string, number>();
  pieces.forEach((p, i) => ids.set(p, i));
  const special = {} as TinyQwenTokenizer['special'];
  QWEN_SPECIAL_TOKENS.forEach((t, i) => {
    special[t] = pieces.length + i;
    ids.set(t, pieces.length + i);
  });
  const size = pieces.length + QWEN_SPECIAL_TOKENS.length;
  cachedTokenizer = { pieces, merges, special, ids, vocabSize: Math.ceil(size / 16) * 16 };
  return cachedTokenizer;
}

/**
 * Token ids as Hugging Face's tokenizer gives them for this tokenizer.json: split on special tokens,
 * NFC, Qwen2's regex split, byte-level, BPE by merge rank; no BOS (Qwen adds none).
 */
export function encodeTinyQwen(text: string): number[] {
  const tok = buildTinyQwenTokenizer();
  const rank = new Map(tok.merges.map(([a, b], i) => [`${a} ${b}`, i]));
  const out: number[] = [];
  const specials = new RegExp(`(${QWEN_SPECIAL_TOKENS.map((t) => t.replace(/[|]/g, '\\|')).join('|')})`);
  for (const part of text.split(specials)) {
    if (part === '') continue;
    const special = tok.special[part as (typeof QWEN_SPECIAL_TOKENS)[number]];
    if (special !== undefined) {
      out.push(special);
      continue;
    }
    for (const piece of part.normalize('NFC').match(SPLIT) ?? []) {
      let symbols = [...toByteLevel(piece)];
      for (;;) {
        let at = -1;
        let best = Infinity;
        for (let i = 0; i + 1 < symbols.length; i++) {
          const r = rank.get(`${symbols[i]} ${symbols[i + 1]}`);
          if (r !== undefined && r < best) [at, best] = [i, r];
        }
        if (at < 0) break;
        symbols = applyMerge(symbols, ...tok.merges[best]);
      }
      for (const s of symbols) out.push(tok.ids.get(s)!);
    }
  }
  return out;
}

/** Qwen2-VL-Instruct's chat template (image parts as <|vision_start|><|image_pad|><|vision_end|>). */
export const QWEN2_VL_CHAT_TEMPLATE =
  "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/** What the chat template renders for one image and a question (the tests' expected raw prompt). */
export function qwenChatPrompt(question: string): string {
  return (
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n' +
    `<|vision_start|><|image_pad|><|vision_end|>${question}<|im_end|>\n<|im_start|>assistant\n`
  );
}

function tokenizerJson(tok: TinyQwenTokenizer): object {
  const vocab: Record<string, number> = {};
  tok.pieces.forEach((p, i) => (vocab[p] = i));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: QWEN_SPECIAL_TOKENS.map((content) => addedTokenEntry(tok.special[content], content)),
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
        byteLevel,
      ],
    },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: tok.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------------

/** The two tensor-name layouts of Qwen2-VL / Qwen2.5-VL checkpoints on the hub. */
export const QWEN_KEY_LAYOUTS = {
  legacy: { text: 'model.', vision: 'visual.', lmHead: 'lm_head.weight' },
  modern: { text: 'model.language_model.', vision: 'model.visual.', lmHead: 'lm_head.weight' },
} as const;

const weightParam = (logical: string, out: number, inp: number, gain = 1): Param => ({
  logical: `${logical}.weight`,
  shape: [out, inp],
  std: gain / Math.sqrt(inp),
});
const biasParam = (logical: string, size: number, std = 0.1): Param => ({
  logical: `${logical}.bias`,
  shape: [size],
  std,
});
const linearParams = (logical: string, out: number, inp: number, gain = 1): Param[] => [
  weightParam(logical, out, inp, gain),
  biasParam(logical, out),
];

function visionParams(family: QwenFamily, v: TinyQwenVisionOptions, outHidden: number): Param[] {
  const d = v.width;
  const patchIn = 3 * v.temporalPatchSize * v.patchSize * v.patchSize;
  const qwen25 = family === 'qwen2_5_vl';
  const norm = (name: string, size: number): Param[] => [
    { logical: `${name}.weight`, shape: [size], std: 0.1, mean: 1 },
    ...(qwen25 ? [] : [{ logical: `${name}.bias`, shape: [size], std: 0.1 }]),
  ];
  const params: Param[] = [
    {
      logical: 'patch_embed.proj.weight',
      shape: [d, 3, v.temporalPatchSize, v.patchSize, v.patchSize],
      std: 1 / Math.sqrt(patchIn),
    },
  ];
  for (let i = 0; i < v.depth; i++) {
    const p = `blocks.${i}.`;
    params.push(...norm(`${p}norm1`, d), ...norm(`${p}norm2`, d));
    // One fused qkv: q and k rows scaled up (non-uniform attention), v rows plain.
    params.push(
      { logical: `${p}attn.qkv.weight`, shape: [3 * d, d], std: 1.4 / Math.sqrt(d) },
      biasParam(`${p}attn.qkv`, 3 * d),
      ...linearParams(`${p}attn.proj`, d, d, 0.7),
    );
    if (qwen25) {
      params.push(
        ...linearParams(`${p}mlp.gate_proj`, v.intermediateSize, d),
        ...linearParams(`${p}mlp.up_proj`, v.intermediateSize, d),
        ...linearParams(`${p}mlp.down_proj`, d, v.intermediateSize, 0.7),
      );
    } else {
      params.push(
        ...linearParams(`${p}mlp.fc1`, v.intermediateSize, d),
        ...linearParams(`${p}mlp.fc2`, d, v.intermediateSize, 0.7),
      );
    }
  }
  const merged = d * v.mergeSize * v.mergeSize;
  params.push(
    ...norm('merger.ln_q', d),
    ...linearParams('merger.mlp.0', merged, merged),
    ...linearParams('merger.mlp.2', outHidden, merged),
  );
  return params;
}

function textParams(t: TinyQwenTextOptions, vocab: number): Param[] {
  const h = t.hiddenSize;
  const headDim = h / t.heads;
  const q = t.heads * headDim;
  const kv = t.kvHeads * headDim;
  const params: Param[] = [{ logical: 'embed_tokens.weight', shape: [vocab, h], std: 1 }];
  for (let i = 0; i < t.layers; i++) {
    const p = `layers.${i}.`;
    params.push(
      ...linearParams(`${p}self_attn.q_proj`, q, h, 1.6),
      ...linearParams(`${p}self_attn.k_proj`, kv, h, 1.6),
      ...linearParams(`${p}self_attn.v_proj`, kv, h),
      weightParam(`${p}self_attn.o_proj`, h, q, 0.7),
      weightParam(`${p}mlp.gate_proj`, t.intermediateSize, h),
      weightParam(`${p}mlp.up_proj`, t.intermediateSize, h),
      weightParam(`${p}mlp.down_proj`, h, t.intermediateSize, 0.7),
      { logical: `${p}input_layernorm.weight`, shape: [h], std: 0.1, mean: 1 },
      { logical: `${p}post_attention_layernorm.weight`, shape: [h], std: 0.1, mean: 1 },
    );
  }
  params.push({ logical: 'norm.weight', shape: [h], std: 0.1, mean: 1 });
  return params;
}

export interface TinyQwen {
  config: Record<string, unknown>;
  imageTokenId: number;
  tokenizer: TinyQwenTokenizer;
}

export async function writeTinyQwen(dir: string, options: TinyQwenOptions): Promise<TinyQwen> {
  const { family } = options;
  const qwen25 = family === 'qwen2_5_vl';
  const text: TinyQwenTextOptions = { ...TINY_QWEN_TEXT_DEFAULTS, ...options.text };
  const vision: TinyQwenVisionOptions = { ...TINY_QWEN_VISION_DEFAULTS[family], ...options.vision };
  const headDim = text.hiddenSize / text.heads;
  if (!Number.isInteger(headDim)) throw new RangeError('text hiddenSize must be a multiple of heads');
  if (text.mropeSection.reduce((a, b) => a + b, 0) !== headDim / 2)
    throw new RangeError(`mropeSection must sum to head_dim / 2 = ${headDim / 2}`);
  if (vision.width % vision.heads !== 0) throw new RangeError('vision width must be a multiple of heads');
  const tok = buildTinyQwenTokenizer();
  const vocabSize = Math.max(options.vocabSize ?? 0, tok.vocabSize);
  const s = tok.special;

  const textFields: Record<string, unknown> = {
    ...decoderConfigFields(text, vocabSize, 32768),
    attention_dropout: 0.0,
    use_sliding_window: false,
    sliding_window: 32768,
    max_window_layers: text.layers,
    bos_token_id: s['<|endoftext|>'],
    eos_token_id: s['<|im_end|>'],
    tie_word_embeddings: text.tieWordEmbeddings,
    torch_dtype: TORCH_DTYPE[options.dtype],
  };
  const merged = {
    depth: vision.depth,
    hidden_act: qwen25 ? 'silu' : 'quick_gelu',
    num_heads: vision.heads,
    patch_size: vision.patchSize,
    spatial_merge_size: vision.mergeSize,
    temporal_patch_size: vision.temporalPatchSize,
  };
  const configLayout = options.configLayout ?? 'modern';
  const visionConfig: Record<string, unknown> = qwen25
    ? {
        ...merged,
        hidden_size: vision.width,
        intermediate_size: vision.intermediateSize,
        out_hidden_size: text.hiddenSize,
        window_size: vision.windowSize,
        fullatt_block_indexes: vision.fullAttBlockIndexes,
        tokens_per_second: 2,
      }
    : {
        ...merged,
        embed_dim: vision.width,
        mlp_ratio: vision.intermediateSize / vision.width,
        // Qwen2VLVisionConfig.hidden_size is the merger's output: the language model's width.
        hidden_size: text.hiddenSize,
      };
  if (configLayout === 'legacy') {
    Object.assign(visionConfig, { in_chans: 3, spatial_patch_size: vision.patchSize });
  } else {
    Object.assign(visionConfig, { in_channels: 3, model_type: family, initializer_range: 0.02 });
  }
  const tokenIds = {
    image_token_id: s['<|image_pad|>'],
    video_token_id: s['<|video_pad|>'],
    vision_start_token_id: s['<|vision_start|>'],
    vision_end_token_id: s['<|vision_end|>'],
  };
  const architectures = [qwen25 ? 'Qwen2_5_VLForConditionalGeneration' : 'Qwen2VLForConditionalGeneration'];
  const config: Record<string, unknown> =
    configLayout === 'legacy'
      ? {
          architectures,
          model_type: family,
          ...textFields,
          vision_token_id: s['<|vision_pad|>'],
          ...tokenIds,
          rope_scaling: { type: 'mrope', mrope_section: text.mropeSection },
          transformers_version: '4.41.2',
          vision_config: visionConfig,
        }
      : {
          architectures,
          model_type: family,
          ...tokenIds,
          tie_word_embeddings: text.tieWordEmbeddings,
          torch_dtype: TORCH_DTYPE[options.dtype],
          transformers_version: '4.53.0',
          text_config: {
            model_type: qwen25 ? 'qwen2_5_vl_text' : 'qwen2_vl_text',
            ...textFields,
            rope_scaling: { mrope_section: text.mropeSection, rope_type: 'default', type: 'default' },
          },
          vision_config: visionConfig,
        };

  const prefixes = QWEN_KEY_LAYOUTS[options.layout];
  const named = [
    ...visionParams(family, vision, text.hiddenSize).map((p) => ({
      name: prefixes.vision + p.logical,
      param: { ...p, logical: 'vision.' + p.logical },
    })),
    ...textParams(text, vocabSize).map((p) => ({
      name: prefixes.text + p.logical,
      param: { ...p, logical: 'text.' + p.logical },
    })),
  ];
  if (!text.tieWordEmbeddings) {
    named.push({
      name: prefixes.lmHead,
      param: {
        logical: 'lm_head.weight',
        shape: [vocabSize, text.hiddenSize],
        std: 2 / Math.sqrt(text.hiddenSize),
      },
    });
  }
  await mkdir(dir, { recursive: true });
  await (options.writeWeights ?? writeMaterializedWeights)(dir, named, options.seed, options.dtype, 1);
  await writeJson(join(dir, 'config.json'), config);
  await writeJson(join(dir, 'generation_config.json'), {
    bos_token_id: s['<|endoftext|>'],
    pad_token_id: s['<|endoftext|>'],
    do_sample: false,
    eos_token_id: [s['<|im_end|>'], s['<|endoftext|>']],
    transformers_version: '4.53.0',
  });
  await writeTokenizerFiles(dir, tok);
  const factor = vision.patchSize * vision.mergeSize;
  const minPixels = options.minPixels ?? 4 * factor ** 2;
  const maxPixels = options.maxPixels ?? 64 * factor ** 2;
  await writeJson(join(dir, 'preprocessor_config.json'), {
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: OPENAI_CLIP_MEAN,
    image_std: OPENAI_CLIP_STD,
    image_processor_type: 'Qwen2VLImageProcessor',
    max_pixels: maxPixels,
    merge_size: vision.mergeSize,
    min_pixels: minPixels,
    patch_size: vision.patchSize,
    processor_class: qwen25 ? 'Qwen2_5_VLProcessor' : 'Qwen2VLProcessor',
    resample: 3,
    rescale_factor: 1 / 255,
    size: { longest_edge: maxPixels, shortest_edge: minPixels },
    temporal_patch_size: vision.temporalPatchSize,
  });
  return { config, imageTokenId: s['<|image_pad|>'], tokenizer: tok };
}

async function writeTokenizerFiles(dir: string, tok: TinyQwenTokenizer): Promise<void> {
  await writeJson(join(dir, 'tokenizer.json'), tokenizerJson(tok));
  const decoder: Record<string, object> = {};
  for (const content of QWEN_SPECIAL_TOKENS) {
    decoder[tok.special[content]] = addedTokenDecoder(content);
  }
  await writeJson(join(dir, 'tokenizer_config.json'), {
    add_prefix_space: false,
    added_tokens_decoder: decoder,
    additional_special_tokens: QWEN_SPECIAL_TOKENS.filter(
      (t) => !['<|endoftext|>', '<|im_start|>', '<|im_end|>'].includes(t),
    ),
    bos_token: null,
    chat_template: QWEN2_VL_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: '<|im_end|>',
    errors: 'replace',
    model_max_length: 32768,
    pad_token: '<|endoftext|>',
    padding_side: 'left',
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  });
  const vocab: Record<string, number> = {};
  tok.pieces.forEach((p, i) => (vocab[p] = i));
  await writeJson(join(dir, 'vocab.json'), vocab);
  await writeFile(
    join(dir, 'merges.txt'),
    '#version: 0.2\n' + tok.merges.map(([a, b]) => `${a} ${b}`).join('\n') + '\n',
  );
}
