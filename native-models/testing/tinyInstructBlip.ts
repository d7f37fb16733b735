/**
 * Tiny random InstructBLIP checkpoints laid out exactly like a Hugging Face
 * `InstructBlipForConditionalGeneration` folder: config.json (vision_config, qformer_config,
 * text_config llama, num_query_tokens, image_token_index), safetensors weights under transformers'
 * tensor names (`vision_model.*`, `query_tokens`, `qformer.*`, `language_projection.*`,
 * `language_model.model.*`, `language_model.lm_head.weight`), the language model's Llama-style
 * tokenizer (with the `<image>` added token), the Q-Former's BERT WordPiece tokenizer under
 * `qformer_tokenizer/`, a BlipImageProcessor preprocessor_config.json and generation_config.json.
 *
 * Weights are deterministic per (seed, logical name), as in tinyLlava.ts, so every dtype holds the
 * same values before rounding. The vision tower's fused `qkv.bias` is random in all three parts, as
 * transformers adds whatever the checkpoint stores (the key part shifts every score of a query
 * equally, so it cannot change the outputs; converted checkpoints hold zeros there).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { writeSafetensors, type TensorToWrite } from '../safetensors/write.ts';
import {
  TORCH_DTYPE,
  addedTokenDecoder,
  addedTokenEntry,
  decoderConfigFields,
  materialize,
  materializeNamed,
  sortedByName,
  withNames,
  writeJson,
  type Param,
} from './checkpointFiles.ts';
import {
  OPENAI_CLIP_MEAN,
  OPENAI_CLIP_STD,
  TINY_TEXT_DEFAULTS,
  layerNorm,
  textParams,
  writeTokenizerFiles,
  type TinyTextOptions,
} from './tinyLlava.ts';
import { IMAGE_TOKEN, PAD_TOKEN, buildTinyTokenizer } from './tinyTokenizer.ts';

export interface TinyBlipVisionOptions {
  imageSize: number;
  patchSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  intermediateSize: number;
  hiddenAct: 'gelu' | 'quick_gelu' | 'gelu_pytorch_tanh';
  layerNormEps: number;
}

export interface TinyQFormerOptions {
  hiddenSize: number;
  layers: number;
  heads: number;
  intermediateSize: number;
  /** A layer l has cross-attention when l % crossAttentionFrequency === 0. */
  crossAttentionFrequency: number;
  maxPositionEmbeddings: number;
  layerNormEps: number;
  hiddenAct: 'gelu' | 'gelu_pytorch_tanh' | 'relu';
}

export interface TinyInstructBlipOptions {
  seed: number;
  dtype: 'F32' | 'F16' | 'BF16';
  /** num_query_tokens (default 4). */
  queries?: number;
  vision?: Partial<TinyBlipVisionOptions>;
  qformer?: Partial<TinyQFormerOptions>;
  text?: Partial<Omit<TinyTextOptions, 'modelType' | 'slidingWindow' | 'ropeScaling'>>;
  /**
   * Write image_token_index into config.json and `<image>` into the tokenizer (default true; older
   * checkpoints lack both: the query rows are then concatenated in front of the text).
   */
  imageTokenIndex?: boolean;
}

export const TINY_BLIP_VISION_DEFAULTS: TinyBlipVisionOptions = {
  imageSize: 32,
  patchSize: 8,
  hiddenSize: 32,
  layers: 2,
  heads: 4,
  intermediateSize: 64,
  hiddenAct: 'gelu',
  layerNormEps: 1e-6,
};

export const TINY_QFORMER_DEFAULTS: TinyQFormerOptions = {
  hiddenSize: 32,
  layers: 2,
  heads: 4,
  intermediateSize: 64,
  crossAttentionFrequency: 2,
  maxPositionEmbeddings: 64,
  layerNormEps: 1e-12,
  hiddenAct: 'gelu',
};

// ---------------------------------------------------------------------------------------------------
// The Q-Former's tokenizer: a BERT-uncased style WordPiece vocabulary, small enough to derive ids by hand.
// ---------------------------------------------------------------------------------------------------

const QFORMER_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const QFORMER_WORDS = [
  'what',
  'is',
  'the',
  'of',
  'color',
  'shape',
  'left',
  'right',
  'square',
  'circle',
  'triangle',
  'red',
  'blue',
  'green',
  'yes',
  'no',
  'answer',
  'question',
  'image',
  'col',
  '##our',
  '##s',
  '##ed',
  '中',
];
/** InstructBLIP's Q-Former tokenizer carries a `[DEC]` BOS after the base vocabulary; BERT never adds it. */
export const QFORMER_DEC_TOKEN = '[DEC]';

export interface QFormerVocab {
  /** Base vocabulary, id = index. */
  readonly tokens: readonly string[];
  readonly ids: ReadonlyMap<string, number>;
  /** Base vocabulary plus [DEC]. */
  readonly size: number;
}

let cachedVocab: QFormerVocab | undefined;

export function qformerVocab(): QFormerVocab {
  if (cachedVocab) return cachedVocab;
  const letters = [...'abcdefghijklmnopqrstuvwxyz'];
  const tokens = [
    ...QFORMER_SPECIALS,
    ...'.,?!:;\'"-()',
    ...'0123456789',
    ...letters,
    ...letters.map((l) => `##${l}`),
    ...QFORMER_WORDS,
  ];
  const ids = new Map<string, number>();
  tokens.forEach((t, i) => ids.set(t, i));
  ids.set(QFORMER_DEC_TOKEN, tokens.length);
  cachedVocab = { tokens, ids, size: tokens.length + 1 };
  return cachedVocab;
}

/**
 * Ids as BertTokenizerFast produces them for this vocabulary, restated plainly for prompts made of
 * letters, digits, punctuation and spaces: lowercase and strip accents, split on whitespace and
 * punctuation, greedy longest-match WordPiece, then [CLS] … [SEP]. Used to build the fixtures' ids
 * without the app's tokenizer (which qformerTokenizer.test.ts checks against hand-derived ids).
 */
export function encodeQFormerTiny(text: string): number[] {
  const { ids } = qformerVocab();
  const words = text
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '')
    .toLowerCase()
    .split(/\s+/)
    .flatMap((w) => w.split(/([\p{P}\p{S}])/u))
    .filter((w) => w !== '');
  const out = [ids.get('[CLS]')!];
  for (const word of words) {
    const pieces: number[] = [];
    for (let start = 0; start < word.length;) {
      let end = word.length;
      let id: number | undefined;
      for (; end > start; end--) {
        id = ids.get((start > 0 ? '##' : '') + word.slice(start, end));
        if (id !== undefined) break;
      }
      if (id === undefined) {
        pieces.splice(0, pieces.length, ids.get('[UNK]')!);
        break;
      }
      pieces.push(id);
      start = end;
    }
    out.push(...pieces);
  }
  out.push(ids.get('[SEP]')!);
  return out;
}

/** tokenizer.json as `tokenizers` serialises a BertTokenizerFast (bert-base-uncased style). */
export function qformerTokenizerJson(): object {
  const vocab = qformerVocab();
  const special = (name: string) => ({ id: name, ids: [vocab.ids.get(name)!], tokens: [name] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      ...QFORMER_SPECIALS.map((name) => addedTokenEntry(vocab.ids.get(name)!, name)),
      addedTokenEntry(vocab.ids.get(QFORMER_DEC_TOKEN)!, QFORMER_DEC_TOKEN),
    ],
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.tokens.map((t, i) => [t, i])),
    },
  };
}

async function writeQFormerTokenizer(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const vocab = qformerVocab();
  await writeJson(join(dir, 'tokenizer.json'), qformerTokenizerJson());
  await writeFile(join(dir, 'vocab.txt'), vocab.tokens.join('\n') + '\n');
  await writeJson(join(dir, 'tokenizer_config.json'), {
    added_tokens_decoder: Object.fromEntries(
      [...QFORMER_SPECIALS, QFORMER_DEC_TOKEN].map((t) => [vocab.ids.get(t)!, addedTokenDecoder(t)]),
    ),
    bos_token: QFORMER_DEC_TOKEN,
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_basic_tokenize: true,
    do_lower_case: true,
    mask_token: '[MASK]',
    model_max_length: 512,
    never_split: null,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    truncation_side: 'left',
    unk_token: '[UNK]',
  });
  await writeJson(join(dir, 'special_tokens_map.json'), {
    bos_token: QFORMER_DEC_TOKEN,
    cls_token: '[CLS]',
    mask_token: '[MASK]',
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    unk_token: '[UNK]',
  });
}

// ---------------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------------

/** A tensor made of row blocks, each its own logical parameter (the fused qkv projection). */
interface Stacked {
  name: string;
  shape: number[];
  parts: Param[];
}

function linear(name: string, out: number, inp: number, std: number, biasStd = 0.1): Param[] {
  return [
    { logical: `${name}.weight`, shape: [out, inp], std: std / Math.sqrt(inp) },
    { logical: `${name}.bias`, shape: [out], std: biasStd },
  ];
}

function visionParams(v: TinyBlipVisionOptions): { params: Param[]; stacked: Stacked[] } {
  const h = v.hiddenSize;
  const patches = (v.imageSize / v.patchSize) ** 2;
  const params: Param[] = [
    { logical: 'embeddings.class_embedding', shape: [1, 1, h], std: 1 },
    {
      logical: 'embeddings.patch_embedding.weight',
      shape: [h, 3, v.patchSize, v.patchSize],
      std: 1 / Math.sqrt(3 * v.patchSize ** 2),
    },
    { logical: 'embeddings.patch_embedding.bias', shape: [h], std: 0.1 },
    { logical: 'embeddings.position_embedding', shape: [1, patches + 1, h], std: 0.5 },
  ];
  const stacked: Stacked[] = [];
  for (let i = 0; i < v.layers; i++) {
    const p = `encoder.layers.${i}.`;
    const part = (kind: string, suffix: string, shape: number[], std: number): Param => ({
      logical: `${p}self_attn.qkv.${kind}.${suffix}`,
      shape,
      std,
    });
    stacked.push(
      {
        name: `${p}self_attn.qkv.weight`,
        shape: [3 * h, h],
        parts: [
          part('q', 'weight', [h, h], 1.6 / Math.sqrt(h)),
          part('k', 'weight', [h, h], 1.6 / Math.sqrt(h)),
          part('v', 'weight', [h, h], 1 / Math.sqrt(h)),
        ],
      },
      {
        name: `${p}self_attn.qkv.bias`,
        shape: [3 * h],
        parts: ['q', 'k', 'v'].map((kind) => part(kind, 'bias', [h], 0.1)),
      },
    );
    params.push(
      ...linear(`${p}self_attn.projection`, h, h, 0.7),
      ...layerNorm(`${p}layer_norm1`, h),
      ...layerNorm(`${p}layer_norm2`, h),
      ...linear(`${p}mlp.fc1`, v.intermediateSize, h, 1),
      ...linear(`${p}mlp.fc2`, h, v.intermediateSize, 0.7, 0.05),
    );
  }
  params.push(...layerNorm('post_layernorm', h));
  return { params, stacked };
}

function qformerParams(q: TinyQFormerOptions, visionHidden: number, vocab: number): Param[] {
  const h = q.hiddenSize;
  const params: Param[] = [
    { logical: 'embeddings.word_embeddings.weight', shape: [vocab, h], std: 1 },
    { logical: 'embeddings.position_embeddings.weight', shape: [q.maxPositionEmbeddings, h], std: 0.5 },
    ...layerNorm('embeddings.layernorm', h),
  ];
  const attention = (prefix: string, keyInput: number): Param[] => [
    ...linear(`${prefix}.attention.query`, h, h, 1.6),
    ...linear(`${prefix}.attention.key`, h, keyInput, 1.6),
    ...linear(`${prefix}.attention.value`, h, keyInput, 1),
    ...linear(`${prefix}.output.dense`, h, h, 0.7),
    ...layerNorm(`${prefix}.output.LayerNorm`, h),
  ];
  for (let i = 0; i < q.layers; i++) {
    const p = `encoder.layer.${i}.`;
    params.push(...attention(`${p}attention`, h));
    if (i % q.crossAttentionFrequency === 0) params.push(...attention(`${p}crossattention`, visionHidden));
    for (const path of ['', '_query']) {
      params.push(
        ...linear(`${p}intermediate${path}.dense`, q.intermediateSize, h, 1),
        ...linear(`${p}output${path}.dense`, h, q.intermediateSize, 0.7, 0.05),
        ...layerNorm(`${p}output${path}.LayerNorm`, h),
      );
    }
  }
  return params;
}

function checkOptions(v: TinyBlipVisionOptions, q: TinyQFormerOptions, text: TinyTextOptions): void {
  if (v.imageSize % v.patchSize !== 0)
    throw new RangeError('vision imageSize must be a multiple of patchSize');
  if (v.hiddenSize % v.heads !== 0) throw new RangeError('vision hiddenSize must be a multiple of heads');
  if (q.hiddenSize % q.heads !== 0) throw new RangeError('qformer hiddenSize must be a multiple of heads');
  if (!Number.isInteger(q.crossAttentionFrequency) || q.crossAttentionFrequency < 1)
    throw new RangeError('crossAttentionFrequency must be a positive integer');
  if (!Number.isInteger(text.headDim)) throw new RangeError('text hiddenSize must be a multiple of heads');
  if (text.heads % text.kvHeads !== 0) throw new RangeError('text heads must be a multiple of kvHeads');
}

/** Checkpoints without image_token_index predate the `<image>` token: their tokenizers lack it. */
async function dropImageToken(dir: string, id: number): Promise<void> {
  const edit = async (file: string, change: (json: Record<string, unknown>) => void) => {
    const json = JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, unknown>;
    change(json);
    await writeJson(join(dir, file), json);
  };
  await edit('tokenizer.json', (json) => {
    json.added_tokens = (json.added_tokens as { content: string }[]).filter((t) => t.content !== IMAGE_TOKEN);
  });
  await edit(
    'tokenizer_config.json',
    (json) => delete (json.added_tokens_decoder as Record<string, unknown>)[id],
  );
  await edit('added_tokens.json', (json) => delete json[IMAGE_TOKEN]);
  await edit('special_tokens_map.json', (json) => delete json.image_token);
}

export interface TinyInstructBlipResult {
  config: Record<string, unknown>;
  imageTokenId: number;
  queries: number;
  /** Patches per side of the vision grid. */
  grid: number;
  crossAttentionLayers: number;
}

export async function writeTinyInstructBlip(
  dir: string,
  options: TinyInstructBlipOptions,
): Promise<TinyInstructBlipResult> {
  const vision = { ...TINY_BLIP_VISION_DEFAULTS, ...options.vision };
  const qformer = { ...TINY_QFORMER_DEFAULTS, ...options.qformer };
  const textIn = { ...TINY_TEXT_DEFAULTS, ...options.text };
  const text: TinyTextOptions = {
    ...textIn,
    modelType: 'llama',
    ropeScaling: null,
    slidingWindow: null,
    headDim: textIn.headDim ?? textIn.hiddenSize / textIn.heads,
  };
  checkOptions(vision, qformer, text);
  const queries = options.queries ?? 4;
  const tokenizer = buildTinyTokenizer();
  const vocabSize = tokenizer.pieces.length + tokenizer.added.length;
  const imageTokenId = tokenizer.ids.get(IMAGE_TOKEN)!;
  const padTokenId = tokenizer.ids.get(PAD_TOKEN)!;
  const qVocab = qformerVocab();

  const textConfig: Record<string, unknown> = {
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    ...decoderConfigFields(text, vocabSize, 2048),
    rope_scaling: null,
    attention_bias: text.attentionBias,
    tie_word_embeddings: text.tieWordEmbeddings,
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: padTokenId,
    torch_dtype: TORCH_DTYPE[options.dtype],
  };
  if (options.text?.headDim !== undefined) textConfig.head_dim = text.headDim;
  const config: Record<string, unknown> = {
    architectures: ['InstructBlipForConditionalGeneration'],
    model_type: 'instructblip',
    num_query_tokens: queries,
    ...(options.imageTokenIndex === false ? {} : { image_token_index: imageTokenId }),
    initializer_factor: 1.0,
    initializer_range: 0.02,
    use_decoder_only_language_model: true,
    tie_word_embeddings: text.tieWordEmbeddings,
    torch_dtype: TORCH_DTYPE[options.dtype],
    transformers_version: '4.48.0',
    vision_config: {
      model_type: 'instructblip_vision_model',
      hidden_size: vision.hiddenSize,
      intermediate_size: vision.intermediateSize,
      num_hidden_layers: vision.layers,
      num_attention_heads: vision.heads,
      image_size: vision.imageSize,
      patch_size: vision.patchSize,
      hidden_act: vision.hiddenAct,
      layer_norm_eps: vision.layerNormEps,
      attention_dropout: 0.0,
      initializer_range: 1e-10,
      qkv_bias: true,
    },
    qformer_config: {
      model_type: 'instructblip_qformer',
      vocab_size: qVocab.size,
      hidden_size: qformer.hiddenSize,
      num_hidden_layers: qformer.layers,
      num_attention_heads: qformer.heads,
      intermediate_size: qformer.intermediateSize,
      hidden_act: qformer.hiddenAct,
      hidden_dropout_prob: 0.1,
      attention_probs_dropout_prob: 0.1,
      max_position_embeddings: qformer.maxPositionEmbeddings,
      initializer_range: 0.02,
      layer_norm_eps: qformer.layerNormEps,
      pad_token_id: 0,
      position_embedding_type: 'absolute',
      cross_attention_frequency: qformer.crossAttentionFrequency,
      encoder_hidden_size: vision.hiddenSize,
    },
    text_config: textConfig,
  };

  const { params: vParams, stacked } = visionParams(vision);
  const named = [
    ...withNames(vParams, 'vision.', 'vision_model.'),
    ...withNames([{ logical: 'query_tokens', shape: [1, queries, qformer.hiddenSize], std: 1 }], '', ''),
    ...withNames(qformerParams(qformer, vision.hiddenSize, qVocab.size), 'qformer.', 'qformer.'),
    ...withNames(linear('language_projection', text.hiddenSize, qformer.hiddenSize, 1), '', ''),
    ...withNames(textParams(text, vocabSize), 'text.', 'language_model.model.'),
  ];
  if (!text.tieWordEmbeddings) {
    named.push({
      name: 'language_model.lm_head.weight',
      param: {
        logical: 'lm_head.weight',
        shape: [vocabSize, text.hiddenSize],
        std: 2 / Math.sqrt(text.hiddenSize),
      },
    });
  }
  const tensors: TensorToWrite[] = sortedByName([
    ...materializeNamed(named, options.seed, options.dtype),
    ...stacked.map(({ name, shape, parts }) => {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      let at = 0;
      for (const part of parts) {
        const values = materialize(options.seed, { ...part, logical: `vision.${part.logical}` });
        data.set(values, at);
        at += values.length;
      }
      return { name: `vision_model.${name}`, dtype: options.dtype, shape, data };
    }),
  ]);

  await mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  await writeJson(join(dir, 'config.json'), config);
  await writeJson(join(dir, 'generation_config.json'), {
    _from_model_config: true,
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: padTokenId,
    transformers_version: '4.48.0',
  });
  await writeTokenizerFiles(dir, false, 'InstructBlipProcessor');
  if (options.imageTokenIndex === false) await dropImageToken(dir, imageTokenId);
  await writeQFormerTokenizer(join(dir, 'qformer_tokenizer'));
  await writeJson(join(dir, 'preprocessor_config.json'), {
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: OPENAI_CLIP_MEAN,
    image_processor_type: 'BlipImageProcessor',
    image_std: OPENAI_CLIP_STD,
    processor_class: 'InstructBlipProcessor',
    resample: 3,
    rescale_factor: 1 / 255,
    size: { height: vision.imageSize, width: vision.imageSize },
  });
  await writeJson(join(dir, 'processor_config.json'), {
    num_query_tokens: queries,
    processor_class: 'InstructBlipProcessor',
  });
  return {
    config,
    imageTokenId,
    queries,
    grid: vision.imageSize / vision.patchSize,
    crossAttentionLayers: Math.ceil(qformer.layers / qformer.crossAttentionFrequency),
  };
}
