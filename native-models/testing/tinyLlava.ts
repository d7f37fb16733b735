/**
 * Tiny random LLaVA (or, with `vipllava`, VIP-LLaVA; with `llavaNext`, LLaVA-NeXT) checkpoints laid out exactly like a Hugging Face
 * llava-hf folder: config.json,
 * safetensors weights (single file or sharded with an index) under the legacy or the modern tensor
 * names, a real Llama-style tokenizer, and the processor files.
 *
 * Weights are deterministic: each tensor is drawn from its own PRNG stream seeded by (seed, logical
 * name), so the legacy and modern layouts, every dtype and every shard count hold the same values
 * (before rounding to the dtype). Scales keep activations O(1) while making attention clearly
 * non-uniform (q/k weights ~1.6/√fan_in give attention logits with standard deviation ~2.5).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import {
  TORCH_DTYPE,
  addedTokenDecoder,
  decoderConfigFields,
  withNames,
  writeJson,
  writeMaterializedWeights,
  type Param,
  type TinyDecoderSizes,
  type WeightsWriter,
} from './checkpointFiles.ts';
import { IMAGE_TOKEN, PAD_TOKEN, buildTinyTokenizer, tokenizerJson } from './tinyTokenizer.ts';
import { LLAVA_KEY_LAYOUTS } from './llavaKeyLayouts.ts';

export interface TinyTextOptions extends TinyDecoderSizes {
  headDim: number;
  attentionBias: boolean;
  /** text_config.model_type: llama (LlamaForCausalLM) or mistral (MistralForCausalLM, no biases). */
  modelType: 'llama' | 'mistral';
  /** Mistral's sliding_window (null: full attention, as llava-v1.6-mistral-7b-hf); default 4096. */
  slidingWindow: number | null;
  /** text_config.rope_scaling as written to config.json, e.g. Llama 3.1's {rope_type: "llama3", …}. */
  ropeScaling: Record<string, unknown> | null;
}

export interface TinyVisionOptions {
  imageSize: number;
  patchSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  intermediateSize: number;
  hiddenAct: 'quick_gelu' | 'gelu';
}

export interface TinyLlavaOptions {
  seed: number;
  dtype: 'F32' | 'F16' | 'BF16';
  /** legacy: language_model.model.*, language_model.lm_head.*, vision_tower.*, multi_modal_projector.*;
   *  modern: model.language_model.*, model.vision_tower.*, model.multi_modal_projector.*, lm_head.* */
  layout: 'legacy' | 'modern';
  /** >1 → model-0000k-of-0000n.safetensors + model.safetensors.index.json */
  shards?: number;
  text?: Partial<TinyTextOptions>;
  vision?: Partial<TinyVisionOptions>;
  /** vision_feature_layer, or VIP-LLaVA's vision_feature_layers (default there: [-2, -4, 1]). */
  visionFeatureLayer?: number | number[];
  visionFeatureSelectStrategy?: 'default' | 'full';
  /** model_type vipllava: vision_feature_layers, a projector_layernorm, no select strategy (drops CLS). */
  vipllava?: boolean;
  /**
   * model_type llava_next: image_grid_pinpoints ([height, width], multiples of the vision image size;
   * default 1×2, 2×1, 2×2, 3×1, 1×3 tiles), an image_newline tensor (omit it with `omitImageNewline`,
   * to test the error) and a LlavaNextImageProcessor.
   */
  llavaNext?: { pinpoints?: [number, number][]; omitImageNewline?: boolean };
  /** VIP-LLaVA's projector_layernorm_eps (default 1e-5, as transformers). */
  projectorLayerNormEps?: number;
  projectorHiddenAct?: 'gelu' | 'gelu_pytorch_tanh' | 'quick_gelu' | 'silu' | 'relu';
  imageProcessor?: 'CLIPImageProcessor' | 'LlavaImageProcessor';
  /** Include a llava-hf style chat template in tokenizer_config.json. */
  chatTemplate?: boolean;
  /** config vocab_size and embedding rows, when larger than the tokenizer (a hub shape's 32064). */
  vocabSize?: number;
  /** How the weights reach disk (default: materialised, seeded normals; benchmarks stream them). */
  writeWeights?: WeightsWriter;
}

export const TINY_TEXT_DEFAULTS: Omit<TinyTextOptions, 'headDim' | 'slidingWindow'> = {
  hiddenSize: 64,
  layers: 3,
  heads: 4,
  kvHeads: 2,
  intermediateSize: 128,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  tieWordEmbeddings: false,
  attentionBias: false,
  modelType: 'llama',
  ropeScaling: null,
};

export const TINY_VISION_DEFAULTS: TinyVisionOptions = {
  imageSize: 28,
  patchSize: 7,
  hiddenSize: 32,
  layers: 3,
  heads: 4,
  intermediateSize: 64,
  hiddenAct: 'quick_gelu',
};

export const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/** llava-hf's template (without the `{% generation %}` markers, which only training code uses). */
export const LLAVA_CHAT_TEMPLATE =
  "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}" +
  "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}" +
  "{{ '<image>\n' }}{% endfor %}{# Render all text next #}" +
  "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}" +
  "{% endfor %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}";

function visionParams(v: TinyVisionOptions): Param[] {
  const h = v.hiddenSize;
  const patches = (v.imageSize / v.patchSize) ** 2;
  const params: Param[] = [
    { logical: 'embeddings.class_embedding', shape: [h], std: 1 },
    {
      logical: 'embeddings.patch_embedding.weight',
      shape: [h, 3, v.patchSize, v.patchSize],
      std: 1 / Math.sqrt(3 * v.patchSize ** 2),
    },
    { logical: 'embeddings.position_embedding.weight', shape: [patches + 1, h], std: 0.5 },
    ...layerNorm('pre_layrnorm', h),
  ];
  for (let i = 0; i < v.layers; i++) {
    const p = `encoder.layers.${i}.`;
    for (const [name, std] of [
      ['q_proj', 1.6],
      ['k_proj', 1.6],
      ['v_proj', 1],
      ['out_proj', 0.7],
    ] as const) {
      params.push({ logical: `${p}self_attn.${name}.weight`, shape: [h, h], std: std / Math.sqrt(h) });
      params.push({ logical: `${p}self_attn.${name}.bias`, shape: [h], std: 0.1 });
    }
    params.push(...layerNorm(`${p}layer_norm1`, h), ...layerNorm(`${p}layer_norm2`, h));
    params.push({ logical: `${p}mlp.fc1.weight`, shape: [v.intermediateSize, h], std: 1 / Math.sqrt(h) });
    params.push({ logical: `${p}mlp.fc1.bias`, shape: [v.intermediateSize], std: 0.1 });
    params.push({
      logical: `${p}mlp.fc2.weight`,
      shape: [h, v.intermediateSize],
      std: 0.7 / Math.sqrt(v.intermediateSize),
    });
    params.push({ logical: `${p}mlp.fc2.bias`, shape: [h], std: 0.05 });
  }
  params.push(...layerNorm('post_layernorm', h));
  return params;
}

export function layerNorm(name: string, size: number): Param[] {
  return [
    { logical: `${name}.weight`, shape: [size], std: 0.1, mean: 1 },
    { logical: `${name}.bias`, shape: [size], std: 0.1 },
  ];
}

function projectorParams(inFeatures: number, hidden: number, vipllava: boolean): Param[] {
  return [
    ...(vipllava ? layerNorm('projector_layernorm', inFeatures) : []),
    { logical: 'linear_1.weight', shape: [hidden, inFeatures], std: 1 / Math.sqrt(inFeatures) },
    { logical: 'linear_1.bias', shape: [hidden], std: 0.1 },
    { logical: 'linear_2.weight', shape: [hidden, hidden], std: 1 / Math.sqrt(hidden) },
    { logical: 'linear_2.bias', shape: [hidden], std: 0.1 },
  ];
}

export function textParams(t: TinyTextOptions, vocab: number): Param[] {
  const h = t.hiddenSize;
  const q = t.heads * t.headDim;
  const kv = t.kvHeads * t.headDim;
  const params: Param[] = [{ logical: 'embed_tokens.weight', shape: [vocab, h], std: 1 }];
  for (let i = 0; i < t.layers; i++) {
    const p = `layers.${i}.`;
    params.push(
      { logical: `${p}self_attn.q_proj.weight`, shape: [q, h], std: 1.6 / Math.sqrt(h) },
      { logical: `${p}self_attn.k_proj.weight`, shape: [kv, h], std: 1.6 / Math.sqrt(h) },
      { logical: `${p}self_attn.v_proj.weight`, shape: [kv, h], std: 1 / Math.sqrt(h) },
      { logical: `${p}self_attn.o_proj.weight`, shape: [h, q], std: 0.7 / Math.sqrt(q) },
    );
    if (t.attentionBias) {
      params.push(
        { logical: `${p}self_attn.q_proj.bias`, shape: [q], std: 0.1 },
        { logical: `${p}self_attn.k_proj.bias`, shape: [kv], std: 0.1 },
        { logical: `${p}self_attn.v_proj.bias`, shape: [kv], std: 0.1 },
        { logical: `${p}self_attn.o_proj.bias`, shape: [h], std: 0.1 },
      );
    }
    params.push(
      { logical: `${p}mlp.gate_proj.weight`, shape: [t.intermediateSize, h], std: 1 / Math.sqrt(h) },
      { logical: `${p}mlp.up_proj.weight`, shape: [t.intermediateSize, h], std: 1 / Math.sqrt(h) },
      {
        logical: `${p}mlp.down_proj.weight`,
        shape: [h, t.intermediateSize],
        std: 0.7 / Math.sqrt(t.intermediateSize),
      },
      { logical: `${p}input_layernorm.weight`, shape: [h], std: 0.1, mean: 1 },
      { logical: `${p}post_attention_layernorm.weight`, shape: [h], std: 0.1, mean: 1 },
    );
  }
  params.push({ logical: 'norm.weight', shape: [h], std: 0.1, mean: 1 });
  return params;
}

export async function writeTinyLlava(
  dir: string,
  options: TinyLlavaOptions,
): Promise<{ config: object; imageTokenId: number; imageTokensPerImage: number | null }> {
  const vision = { ...TINY_VISION_DEFAULTS, ...options.vision };
  const textIn = { ...TINY_TEXT_DEFAULTS, ...options.text };
  const text: TinyTextOptions = {
    ...textIn,
    headDim: textIn.headDim ?? textIn.hiddenSize / textIn.heads,
    slidingWindow: textIn.slidingWindow === undefined ? 4096 : textIn.slidingWindow,
  };
  const mistral = text.modelType === 'mistral';
  if (mistral && text.attentionBias) throw new RangeError('Mistral has no attention biases');
  if (!mistral && options.text?.slidingWindow !== undefined)
    throw new RangeError('slidingWindow is a Mistral option (transformers’ Llama ignores it)');
  if (vision.imageSize % vision.patchSize !== 0)
    throw new RangeError('vision imageSize must be a multiple of patchSize');
  if (vision.hiddenSize % vision.heads !== 0)
    throw new RangeError('vision hiddenSize must be a multiple of heads');
  if (!Number.isInteger(text.headDim)) throw new RangeError('text hiddenSize must be a multiple of heads');
  if (text.heads % text.kvHeads !== 0) throw new RangeError('text heads must be a multiple of kvHeads');
  const shards = options.shards ?? 1;
  const vip = options.vipllava ?? false;
  const next = options.llavaNext;
  const tile = vision.imageSize;
  const pinpoints = next?.pinpoints ?? [
    [tile, 2 * tile],
    [2 * tile, tile],
    [2 * tile, 2 * tile],
    [3 * tile, tile],
    [tile, 3 * tile],
  ];
  if (next && vip) throw new RangeError('llavaNext and vipllava are different families');
  if (vip && options.visionFeatureSelectStrategy === 'full')
    throw new RangeError('VIP-LLaVA always drops the CLS token (no "full" strategy)');
  // VIP's list mixes a negative index, the embeddings (state 0) and a positive one, out of order.
  const featureLayer = options.visionFeatureLayer ?? (vip ? [-2, -4, 1] : -2);
  const strategy = options.visionFeatureSelectStrategy ?? 'default';
  const projectorAct = options.projectorHiddenAct ?? 'gelu';

  const tokenizer = buildTinyTokenizer();
  const vocabSize = Math.max(options.vocabSize ?? 0, tokenizer.pieces.length + tokenizer.added.length);
  const imageTokenId = tokenizer.ids.get(IMAGE_TOKEN)!;
  const padTokenId = tokenizer.ids.get(PAD_TOKEN)!;
  const patches = (vision.imageSize / vision.patchSize) ** 2;
  const imageTokensPerImage = strategy === 'default' ? patches : patches + 1;
  const featureLayers = Array.isArray(featureLayer) ? featureLayer.length : 1;

  const textConfig: Record<string, unknown> = {
    model_type: text.modelType,
    architectures: [mistral ? 'MistralForCausalLM' : 'LlamaForCausalLM'],
    ...decoderConfigFields(text, vocabSize, 4096),
    rope_scaling: text.ropeScaling,
    // MistralConfig has no attention_bias; it has sliding_window instead.
    ...(mistral ? { sliding_window: text.slidingWindow } : { attention_bias: text.attentionBias }),
    tie_word_embeddings: text.tieWordEmbeddings,
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: padTokenId,
    torch_dtype: TORCH_DTYPE[options.dtype],
  };
  if (options.text?.headDim !== undefined) textConfig.head_dim = text.headDim;
  const nextConfig = {
    architectures: ['LlavaNextForConditionalGeneration'],
    model_type: 'llava_next',
    image_token_index: imageTokenId,
    image_grid_pinpoints: pinpoints,
    projector_hidden_act: projectorAct,
    multimodal_projector_bias: true,
    vision_feature_layer: featureLayer,
    vision_feature_select_strategy: strategy,
  };
  const projectorConfig = next
    ? nextConfig
    : vip
      ? {
          architectures: ['VipLlavaForConditionalGeneration'],
          model_type: 'vipllava',
          image_token_index: imageTokenId,
          image_seq_length: imageTokensPerImage,
          projector_hidden_act: projectorAct,
          projector_layernorm_eps: options.projectorLayerNormEps ?? 1e-5,
          vision_feature_layers: featureLayer,
        }
      : {
          architectures: ['LlavaForConditionalGeneration'],
          model_type: 'llava',
          image_token_index: imageTokenId,
          image_seq_length: imageTokensPerImage,
          projector_hidden_act: projectorAct,
          multimodal_projector_bias: true,
          vision_feature_layer: featureLayer,
          vision_feature_select_strategy: strategy,
        };
  const config = {
    ...projectorConfig,
    pad_token_id: padTokenId,
    tie_word_embeddings: text.tieWordEmbeddings,
    torch_dtype: TORCH_DTYPE[options.dtype],
    transformers_version: '4.48.0',
    text_config: textConfig,
    vision_config: {
      model_type: 'clip_vision_model',
      hidden_size: vision.hiddenSize,
      intermediate_size: vision.intermediateSize,
      num_hidden_layers: vision.layers,
      num_attention_heads: vision.heads,
      num_channels: 3,
      image_size: vision.imageSize,
      patch_size: vision.patchSize,
      hidden_act: vision.hiddenAct,
      layer_norm_eps: 1e-5,
      projection_dim: vision.hiddenSize,
    },
  };

  const prefixes = LLAVA_KEY_LAYOUTS[options.layout];
  const named = [
    ...withNames(visionParams(vision), 'vision.', prefixes.vision),
    ...withNames(
      projectorParams(vision.hiddenSize * featureLayers, text.hiddenSize, vip),
      'projector.',
      prefixes.projector,
    ),
    ...withNames(textParams(text, vocabSize), 'text.', prefixes.text),
  ];
  if (next && !next.omitImageNewline) {
    // transformers initialises it as randn(D) / sqrt(D); a larger scale keeps it visible in tests.
    named.push({
      name: prefixes.imageNewline,
      param: { logical: 'image_newline', shape: [text.hiddenSize], std: 1 },
    });
  }
  if (!text.tieWordEmbeddings) {
    const std = 2 / Math.sqrt(text.hiddenSize);
    named.push({
      name: prefixes.lmHead,
      param: { logical: 'lm_head.weight', shape: [vocabSize, text.hiddenSize], std },
    });
  }
  await mkdir(dir, { recursive: true });
  await (options.writeWeights ?? writeMaterializedWeights)(dir, named, options.seed, options.dtype, shards);

  await writeJson(join(dir, 'config.json'), config);
  await writeJson(join(dir, 'generation_config.json'), {
    _from_model_config: true,
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: padTokenId,
    transformers_version: '4.48.0',
  });
  await writeTokenizerFiles(dir, options.chatTemplate ?? false);
  if (next) await writeNextProcessorFiles(dir, vision, strategy, pinpoints);
  else await writeProcessorFiles(dir, vision, strategy, options.imageProcessor ?? 'CLIPImageProcessor');
  // LLaVA-NeXT's count varies per image.
  return { config, imageTokenId, imageTokensPerImage: next ? null : imageTokensPerImage };
}

export async function writeTokenizerFiles(
  dir: string,
  chatTemplate: boolean,
  processorClass = 'LlavaProcessor',
): Promise<void> {
  const tokenizer = buildTinyTokenizer();
  await writeJson(join(dir, 'tokenizer.json'), tokenizerJson(tokenizer));
  const base = tokenizer.pieces.length;
  const addedTokensDecoder: Record<string, object> = {
    0: addedTokenDecoder('<unk>'),
    1: addedTokenDecoder('<s>'),
    2: addedTokenDecoder('</s>'),
  };
  tokenizer.added.forEach((token, i) => (addedTokensDecoder[base + i] = addedTokenDecoder(token)));
  const tokenizerConfig: Record<string, unknown> = {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: addedTokensDecoder,
    bos_token: '<s>',
    clean_up_tokenization_spaces: false,
    eos_token: '</s>',
    legacy: false,
    model_max_length: 4096,
    pad_token: PAD_TOKEN,
    padding_side: 'left',
    processor_class: processorClass,
    sp_model_kwargs: {},
    tokenizer_class: 'LlamaTokenizer',
    unk_token: '<unk>',
    use_default_system_prompt: false,
  };
  if (chatTemplate) tokenizerConfig.chat_template = LLAVA_CHAT_TEMPLATE;
  await writeJson(join(dir, 'tokenizer_config.json'), tokenizerConfig);
  const special = (content: string) => ({
    content,
    lstrip: false,
    normalized: false,
    rstrip: false,
    single_word: false,
  });
  await writeJson(join(dir, 'special_tokens_map.json'), {
    bos_token: special('<s>'),
    eos_token: special('</s>'),
    image_token: IMAGE_TOKEN,
    pad_token: special(PAD_TOKEN),
    unk_token: special('<unk>'),
  });
  await writeJson(
    join(dir, 'added_tokens.json'),
    Object.fromEntries(tokenizer.added.map((t, i) => [t, base + i])),
  );
}

function clipPreprocessorFields(size: number): Record<string, unknown> {
  return {
    crop_size: { height: size, width: size },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: OPENAI_CLIP_MEAN,
    image_std: OPENAI_CLIP_STD,
    resample: 3,
    rescale_factor: 1 / 255,
    size: { shortest_edge: size },
  };
}

async function writeNextProcessorFiles(
  dir: string,
  vision: TinyVisionOptions,
  strategy: 'default' | 'full',
  pinpoints: [number, number][],
): Promise<void> {
  await writeJson(join(dir, 'preprocessor_config.json'), {
    ...clipPreprocessorFields(vision.imageSize),
    do_pad: true,
    image_grid_pinpoints: pinpoints,
    image_processor_type: 'LlavaNextImageProcessor',
    processor_class: 'LlavaNextProcessor',
  });
  await writeJson(join(dir, 'processor_config.json'), {
    image_token: IMAGE_TOKEN,
    num_additional_image_tokens: 1,
    patch_size: vision.patchSize,
    processor_class: 'LlavaNextProcessor',
    vision_feature_select_strategy: strategy,
  });
}

async function writeProcessorFiles(
  dir: string,
  vision: TinyVisionOptions,
  strategy: 'default' | 'full',
  processor: 'CLIPImageProcessor' | 'LlavaImageProcessor',
): Promise<void> {
  const preprocessor: Record<string, unknown> = {
    ...clipPreprocessorFields(vision.imageSize),
    image_processor_type: processor,
    processor_class: 'LlavaProcessor',
  };
  // LlavaImageProcessor's reason to exist: pad to a square with the mean colour before resizing.
  if (processor === 'LlavaImageProcessor') preprocessor.do_pad = true;
  await writeJson(join(dir, 'preprocessor_config.json'), preprocessor);
  await writeJson(join(dir, 'processor_config.json'), {
    image_token: IMAGE_TOKEN,
    num_additional_image_tokens: 1,
    patch_size: vision.patchSize,
    processor_class: 'LlavaProcessor',
    vision_feature_select_strategy: strategy,
  });
}
