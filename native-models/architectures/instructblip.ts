/**
 * InstructBLIP (transformers' InstructBlipForConditionalGeneration) with a LLaMA / Vicuna language
 * model:
 *
 *   pixel_values ──BLIP-2 ViT (families/blipVision.ts)──▶ image_embeds [1, 1 + patches, Dv]
 *   query_tokens, qformer_input_ids, image_embeds ──Q-Former (families/qformer.ts)──▶ [1, Q, Dq]
 *   ──language_projection──▶ image_features [1, Q, D]
 *
 * The Q features are the image's tokens, placed before the whole prompt, BOS included
 * (`imagePlacement: 'prefix'`): transformers either concatenates them in front of the prompt's
 * embeddings (older checkpoints, no image_token_index) or scatters them into Q image tokens its
 * processor puts in front of the text (newer ones); both give the same sequence. The decoder is
 * families/llama.ts's, under `language_model.model.*` / `language_model.lm_head`.
 *
 * Exported for tests and the reference helpers (names kept stable):
 *   instructBlip                 the Architecture (model_type "instructblip")
 *   parseInstructBlipConfig      config.json → InstructBlipConfig
 *   InstructBlipConfig           { text, vision, qformer, queryTokens, imageTokenId, imageTokenIdFromConfig }
 *   instructBlipKeyLayout        tensor-name prefixes detected from the checkpoint's names
 *   INSTRUCTBLIP_DEFAULT_IMAGE_TOKEN_ID  the id used when config.json has no image_token_index
 * Vision graph I/O (contract.ts VISION_IO): pixel_values [1, 3, S, S], qformer_input_ids [1, Tq]
 * → image_features [1, Q, D], qformer_cross_attention [C, Hq, Q, 1 + patches] (C = the layers with
 * cross-attention, in order; the last axis is the class token then the patches row by row).
 */
import { linear } from '../blocks/linear.ts';
import { ConfigReader } from '../config/fields.ts';
import { ModelFormatError } from '../errors.ts';
import {
  blipImageEmbeds,
  blipPatchSide,
  parseBlipVisionConfig,
  type BlipVisionConfig,
} from '../families/blipVision.ts';
import {
  parseLlamaTextConfig,
  type LlamaTextConfig,
  type TextWeightNames,
  llamaDecoderSpec,
  llamaDecoderSummary,
  withLlamaDecoder,
} from '../families/llama.ts';
import {
  crossAttentionLayers,
  isQFormerUnusedByDesign,
  parseQFormerConfig,
  qformerQueryOutput,
  type QFormerConfig,
} from '../families/qformer.ts';
import { GraphBuilder, type BuiltGraph } from '../onnx/builder.ts';
import { TensorDataType } from '../onnx/encode.ts';
import { VISION_IO } from './contract.ts';
import type { Architecture, BuiltModel, ModelSpec } from './types.ts';

/**
 * Without image_token_index the query features are concatenated in front of the prompt's embeddings
 * and no id marks them; the engine still lays out Q ids there, whose embeddings are overwritten. 0
 * (LLaMA's <unk>) is in every vocabulary and never produced by byte-fallback tokenizers for text.
 */
export const INSTRUCTBLIP_DEFAULT_IMAGE_TOKEN_ID = 0;

/** Language models families/llama.ts builds for InstructBLIP (vicuna is an alias of llama). */
const TEXT_MODEL_TYPES = ['llama', 'vicuna', 'mistral'];

export interface InstructBlipConfig {
  readonly text: LlamaTextConfig;
  readonly vision: BlipVisionConfig;
  readonly qformer: QFormerConfig;
  /** num_query_tokens: Q, the image's token count in the language model. */
  readonly queryTokens: number;
  readonly imageTokenId: number;
  /** Whether config.json names the image token (newer checkpoints) or the default stands in. */
  readonly imageTokenIdFromConfig: boolean;
}

function parseTextConfig(c: ConfigReader): LlamaTextConfig {
  const textConfig = c.child('text_config');
  const declared = textConfig.raw('model_type');
  if (typeof declared !== 'string' || !TEXT_MODEL_TYPES.includes(declared)) {
    // InstructBlipConfig builds an OPT config when text_config has no model_type.
    const what = declared === undefined ? 'absent (transformers then builds OPT)' : JSON.stringify(declared);
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `${textConfig.path}.model_type is ${what}: InstructBLIP is supported with a decoder-only LLaMA/Vicuna language model (supported: ${TEXT_MODEL_TYPES.join(', ')}); Flan-T5 and OPT variants are not`,
    );
  }
  const text = parseLlamaTextConfig(textConfig);
  // As llava's configs: a top-level tie_word_embeddings counts when text_config does not say.
  return !textConfig.has('tie_word_embeddings') && c.bool('tie_word_embeddings', false)
    ? { ...text, tieWordEmbeddings: true }
    : text;
}

export function parseInstructBlipConfig(json: unknown, source: string): InstructBlipConfig {
  const c = ConfigReader.root(json, source);
  const text = parseTextConfig(c);
  const vision = parseBlipVisionConfig(c.child('vision_config'));
  const qformer = parseQFormerConfig(c.child('qformer_config'), vision.hiddenSize);
  const queryTokens = c.int('num_query_tokens', 32);
  const tokenKey = ['image_token_id', 'image_token_index'].find((k) => c.has(k));
  const imageTokenId =
    tokenKey === undefined ? INSTRUCTBLIP_DEFAULT_IMAGE_TOKEN_ID : c.int(tokenKey, 0, { min: 0 });
  if (tokenKey !== undefined && imageTokenId >= text.vocabSize) {
    c.fail(tokenKey, `below text_config.vocab_size (${text.vocabSize})`);
  }
  return { text, vision, qformer, queryTokens, imageTokenId, imageTokenIdFromConfig: tokenKey !== undefined };
}

/** Where an InstructBLIP checkpoint keeps each part. */
export interface InstructBlipKeyLayout {
  readonly text: TextWeightNames;
  readonly vision: string;
  readonly qformer: string;
  readonly queryTokens: string;
  readonly projection: string;
}

/**
 * transformers writes `language_model.model.*` and `language_model.lm_head.weight` (its language
 * model is an AutoModelForCausalLM); a checkpoint of the bare InstructBlipModel has the decoder
 * directly under `language_model.*`.
 */
export function instructBlipKeyLayout(names: readonly string[]): InstructBlipKeyLayout {
  const parts = {
    vision: 'vision_model',
    qformer: 'qformer',
    queryTokens: 'query_tokens',
    projection: 'language_projection',
  };
  const lmHead = 'language_model.lm_head.weight';
  if (names.some((n) => n.startsWith('language_model.model.'))) {
    return { ...parts, text: { base: 'language_model.model', lmHead } };
  }
  if (
    names.some((n) => n.startsWith('language_model.layers.') || n.startsWith('language_model.embed_tokens.'))
  ) {
    return { ...parts, text: { base: 'language_model', lmHead } };
  }
  throw new ModelFormatError(
    'BAD_WEIGHTS',
    `weights match no InstructBLIP key layout (expected the language model under "language_model.model." or "language_model."); first names: ${names.slice(0, 5).join(', ')}`,
  );
}

/**
 * The vision graph: pixels and the instruction's Q-Former ids → the Q projected query outputs, and
 * the Q-Former's cross-attention to the image (the overlays' source for query tokens).
 */
function buildVision(cfg: InstructBlipConfig, layout: InstructBlipKeyLayout): BuiltGraph {
  const g = new GraphBuilder('vision');
  const { imageSize } = cfg.vision;
  const { hiddenSize: Dq, heads: Hq } = cfg.qformer;
  const Q = cfg.queryTokens;
  const imageTokens = blipPatchSide(cfg.vision) ** 2 + 1;
  const pixels = g.input(VISION_IO.pixels, TensorDataType.FLOAT, [1, 3, imageSize, imageSize]);
  const ids = g.input(VISION_IO.qformerIds, TensorDataType.INT64, [1, 'Tq']);
  const imageEmbeds = blipImageEmbeds(g, cfg.vision, layout.vision, pixels);
  const queries = g.weight(layout.queryTokens, [1, Q, Dq]);
  const { queryOutput, crossAttention } = qformerQueryOutput(
    g,
    cfg.qformer,
    layout.qformer,
    queries,
    Q,
    ids,
    imageEmbeds,
  );
  const features = linear(
    g,
    queryOutput,
    layout.projection,
    Dq,
    cfg.text.hiddenSize,
    true,
    'language_projection',
  );
  g.output(features, VISION_IO.features, TensorDataType.FLOAT, [1, Q, cfg.text.hiddenSize]);
  const stacked =
    crossAttention.length === 1
      ? crossAttention[0]
      : g.op('Concat', [...crossAttention], { axis: 0 }, 'cross_attention');
  g.output(stacked, VISION_IO.qformerCrossAttention, TensorDataType.FLOAT, [
    crossAttention.length,
    Hq,
    Q,
    imageTokens,
  ]);
  return g.build();
}

/** Tensors transformers loads but the model never reads for the features or the logits. */
function isUnusedByDesign(name: string, cfg: InstructBlipConfig, layout: InstructBlipKeyLayout): boolean {
  if (/(\.position_ids|rotary_emb\.inv_freq)$/.test(name)) return true;
  return isQFormerUnusedByDesign(name, cfg.qformer, layout.qformer);
}

function buildInstructBlip(cfg: InstructBlipConfig, names: readonly string[]): BuiltModel {
  const layout = instructBlipKeyLayout(names);
  return withLlamaDecoder(buildVision(cfg, layout), cfg.text, layout.text, names, (n) =>
    isUnusedByDesign(n, cfg, layout),
  );
}

export function instructBlipSpec(cfg: InstructBlipConfig): ModelSpec {
  const side = blipPatchSide(cfg.vision);
  return {
    ...llamaDecoderSpec(cfg.text),
    modelType: 'instructblip',
    imageTokenId: cfg.imageTokenId,
    imageTokenIdIsStandIn: !cfg.imageTokenIdFromConfig,
    imagePlaceholder: '<image>',
    imagePlacement: 'prefix',
    imageMarkup: '',
    // InstructBLIP is prompted with the bare instruction (the same text goes to the Q-Former).
    questionTemplate: '{question}',
    imageTokens: {
      kind: 'queries',
      count: cfg.queryTokens,
      rows: side,
      cols: side,
      maxInstructionTokens: cfg.qformer.maxPositionEmbeddings,
    },
    imageSize: { height: cfg.vision.imageSize, width: cfg.vision.imageSize },
    summary: {
      architecture: 'InstructBLIP (BLIP-2 ViT + Q-Former + LLaMA)',
      ...llamaDecoderSummary(cfg.text),
      visionLayers: cfg.vision.layers,
      visionHiddenSize: cfg.vision.hiddenSize,
      imageSize: cfg.vision.imageSize,
      patchSize: cfg.vision.patchSize,
      queryTokens: cfg.queryTokens,
      qformerLayers: cfg.qformer.layers,
      qformerHiddenSize: cfg.qformer.hiddenSize,
      qformerHeads: cfg.qformer.heads,
      qformerVocabSize: cfg.qformer.vocabSize,
      qformerMaxPositions: cfg.qformer.maxPositionEmbeddings,
      crossAttentionFrequency: cfg.qformer.crossAttentionFrequency,
      crossAttentionLayers: crossAttentionLayers(cfg.qformer).join(','),
      imageTokenId: cfg.imageTokenIdFromConfig
        ? cfg.imageTokenId
        : `${cfg.imageTokenId} (default; no image_token_index)`,
    },
    build: (names) => buildInstructBlip(cfg, names),
  };
}

export const instructBlip: Architecture = {
  modelType: 'instructblip',
  parse: (json, source) => instructBlipSpec(parseInstructBlipConfig(json, source)),
};
