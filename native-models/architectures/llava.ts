/**
 * LLaVA-1.5 (transformers' LlavaForConditionalGeneration): CLIP ViT → mlp2x_gelu projector → LLaMA.
 * The config reading, key layouts and graphs are exported for the llava variants that differ only in
 * feature selection and projector (vipllava.ts).
 */
import { activation, assertActivation } from '../blocks/activations.ts';
import { linear } from '../blocks/linear.ts';
import { layerNorm } from '../blocks/norms.ts';
import { ConfigReader } from '../config/fields.ts';
import { ModelFormatError } from '../errors.ts';
import {
  clipHiddenStates,
  clipPatchCount,
  LLAVA_VISION_DEFAULTS,
  parseClipVisionConfig,
  type ClipVisionConfig,
} from '../families/clip.ts';
import {
  parseLlamaTextConfig,
  type LlamaTextConfig,
  type TextWeightNames,
  llamaDecoderSpec,
  llamaDecoderSummary,
  withLlamaDecoder,
} from '../families/llama.ts';
import { GraphBuilder, type BuiltGraph } from '../onnx/builder.ts';
import { TensorDataType } from '../onnx/encode.ts';
import { VISION_IO } from './contract.ts';
import type { Architecture, BuiltModel, ImageTokenScheme, ModelSpec } from './types.ts';

/** LLaVA-1.5's conversation format, for tokenizers without a chat template. */
export const LLAVA15_QUESTION_TEMPLATE = 'USER: {images}\n{question} ASSISTANT:';

export interface LlavaConfig {
  readonly text: LlamaTextConfig;
  readonly vision: ClipVisionConfig;
  readonly imageTokenId: number;
  readonly projectorAct: string;
  readonly projectorBias: boolean;
  /** Indexes into the vision hidden-states tuple, made non-negative. */
  readonly featureLayers: readonly number[];
  readonly selectStrategy: 'default' | 'full';
  /** VIP-LLaVA: epsilon of the LayerNorm over the concatenated features before linear_1; none for llava. */
  readonly projectorLayerNormEps?: number;
}

/** The fields every llava variant shares: text and vision towers, image token, projector activation. */
export function parseLlavaBackbone(
  c: ConfigReader,
  source: string,
): Pick<LlavaConfig, 'text' | 'vision' | 'imageTokenId' | 'projectorAct'> {
  const textConfig = c.child('text_config');
  const parsedText = parseLlamaTextConfig(textConfig);
  // Older llava configs put tie_word_embeddings at the top level, where transformers also read it.
  const text =
    !textConfig.has('tie_word_embeddings') && c.bool('tie_word_embeddings', false)
      ? { ...parsedText, tieWordEmbeddings: true }
      : parsedText;
  const vision = parseClipVisionConfig(
    c.child('vision_config'),
    c.has('vision_config') ? undefined : LLAVA_VISION_DEFAULTS,
  );
  const projectorAct = c.string('projector_hidden_act', 'gelu');
  assertActivation(projectorAct, `${source}.projector_hidden_act`);
  const imageTokenId = c.has('image_token_id')
    ? c.int('image_token_id', 0, { min: 0 })
    : c.int('image_token_index', 32000, { min: 0 });
  if (imageTokenId >= text.vocabSize)
    c.fail('image_token_index', `below text_config.vocab_size (${text.vocabSize})`);
  return { text, vision, imageTokenId, projectorAct };
}

/**
 * `key` as transformers indexes `hidden_states` with it: an int or a non-empty list of ints, each in
 * [−(L+1), L] for L encoder layers (state 0 is the embeddings); returned non-negative, in list order.
 */
export function parseFeatureLayers(
  c: ConfigReader,
  key: string,
  fallback: number | readonly number[],
  vision: ClipVisionConfig,
): number[] {
  const raw = c.has(key) ? c.raw(key) : fallback;
  const asList = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  const stateCount = vision.layers + 1; // embeddings + one per encoder layer
  const expected = `an integer (or list of integers) in [${-stateCount}, ${stateCount - 1}] (vision_config.num_hidden_layers is ${vision.layers})`;
  if (asList.length === 0) c.fail(key, 'a non-empty list');
  return asList.map((v) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -stateCount || v >= stateCount) {
      // A missing key falls back to transformers' default, which a small vision tower may not fit.
      if (!c.has(key)) {
        throw new ModelFormatError(
          'BAD_CONFIG',
          `${c.path}.${key} is absent, and transformers' default ${JSON.stringify(fallback)} does not fit: each must be ${expected}`,
        );
      }
      c.fail(key, expected);
    }
    return v < 0 ? stateCount + v : v;
  });
}

/** llava's own keys on top of the backbone: projector bias, feature layer, select strategy. */
export function parseLlavaConfig(json: unknown, source: string): LlavaConfig {
  const c = ConfigReader.root(json, source);
  const backbone = parseLlavaBackbone(c, source);
  return {
    ...backbone,
    projectorBias: c.bool('multimodal_projector_bias', true),
    featureLayers: parseFeatureLayers(c, 'vision_feature_layer', -2, backbone.vision),
    selectStrategy: c.oneOf('vision_feature_select_strategy', ['default', 'full'] as const, 'default'),
  };
}

/** Where a llava-family checkpoint keeps each part (image_newline: LLaVA-NeXT only). */
export interface LlavaKeyLayout {
  readonly text: TextWeightNames;
  readonly vision: string;
  readonly projector: string;
  readonly imageNewline: string;
}

/** The two key layouts found on the hub. */
const LAYOUTS = {
  legacy: {
    text: { base: 'language_model.model', lmHead: 'language_model.lm_head.weight' },
    vision: 'vision_tower.vision_model',
    projector: 'multi_modal_projector',
    imageNewline: 'image_newline',
  },
  modern: {
    text: { base: 'model.language_model', lmHead: 'lm_head.weight' },
    vision: 'model.vision_tower.vision_model',
    projector: 'model.multi_modal_projector',
    imageNewline: 'model.image_newline',
  },
} as const satisfies Record<string, LlavaKeyLayout>;

function detectLayout(names: readonly string[]): LlavaKeyLayout {
  if (names.some((n) => n.startsWith('model.language_model.'))) return LAYOUTS.modern;
  if (names.some((n) => n.startsWith('language_model.'))) return LAYOUTS.legacy;
  throw new ModelFormatError(
    'BAD_WEIGHTS',
    `weights match neither llava key layout (expected names under "language_model.model." or "model.language_model."); first names: ${names.slice(0, 5).join(', ')}`,
  );
}

/**
 * pixel_values → CLIP hidden states of the feature layer(s) → (drop CLS) → [VIP: LayerNorm] → linear_1
 * → act → linear_2: the projected features [B, N, D]. Dropping CLS after the feature-axis concat
 * equals transformers' VIP order (drop, then concat): both act on the token axis only.
 */
export function projectedImageFeatures(
  g: GraphBuilder,
  cfg: LlavaConfig,
  layout: LlavaKeyLayout,
  pixels: string,
): string {
  const projectorPrefix = layout.projector;
  const states = clipHiddenStates(g, cfg.vision, layout.vision, pixels, cfg.featureLayers);
  const selected = g.scope('feature_select', () => {
    const joined = states.length === 1 ? states[0] : g.op('Concat', states, { axis: -1 });
    // "default" drops the CLS token (transformers: image_features[:, 1:]).
    return cfg.selectStrategy === 'default'
      ? g.op('Slice', [joined, g.constInt64([1]), g.constInt64([Number.MAX_SAFE_INTEGER]), g.constInt64([1])])
      : joined;
  });
  const inWidth = cfg.vision.hiddenSize * cfg.featureLayers.length;
  const D = cfg.text.hiddenSize;
  return g.scope('multi_modal_projector', () => {
    const eps = cfg.projectorLayerNormEps;
    const normed =
      eps === undefined
        ? selected
        : layerNorm(
            g,
            selected,
            `${projectorPrefix}.projector_layernorm`,
            inWidth,
            eps,
            'projector_layernorm',
          );
    const h = linear(g, normed, `${projectorPrefix}.linear_1`, inWidth, D, cfg.projectorBias, 'linear_1');
    return linear(
      g,
      activation(g, h, cfg.projectorAct),
      `${projectorPrefix}.linear_2`,
      D,
      D,
      cfg.projectorBias,
      'linear_2',
    );
  });
}

/** The vision graph of the contract: one image per batch row, its features as they come. */
function buildVision(cfg: LlavaConfig, layout: LlavaKeyLayout): BuiltGraph {
  const g = new GraphBuilder('vision');
  const { imageSize } = cfg.vision;
  const pixels = g.input(VISION_IO.pixels, TensorDataType.FLOAT, ['B', 3, imageSize, imageSize]);
  const features = projectedImageFeatures(g, cfg, layout, pixels);
  g.output(features, VISION_IO.features, TensorDataType.FLOAT, ['B', 'N', cfg.text.hiddenSize]);
  return g.build();
}

/** Tensors a llava checkpoint carries that the model never reads (transformers ignores them too). */
function isUnusedByDesign(name: string, cfg: LlavaConfig): boolean {
  if (/\.post_layernorm\.(weight|bias)$/.test(name)) return true;
  if (/(\.position_ids|rotary_emb\.inv_freq)$/.test(name)) return true;
  const layer = /vision_model\.encoder\.layers\.(\d+)\./.exec(name);
  return layer !== null && Number(layer[1]) >= Math.max(...cfg.featureLayers);
}

/** What a llava variant may replace: its image-token scheme and its vision graph. */
export interface LlavaVariant {
  readonly imageTokens?: ImageTokenScheme;
  readonly buildVision?: (cfg: LlavaConfig, layout: LlavaKeyLayout) => BuiltGraph;
}

function buildLlava(cfg: LlavaConfig, names: readonly string[], variant: LlavaVariant): BuiltModel {
  const layout = detectLayout(names);
  const vision = (variant.buildVision ?? buildVision)(cfg, layout);
  return withLlamaDecoder(vision, cfg.text, layout.text, names, (n) => isUnusedByDesign(n, cfg));
}

/** The ModelSpec of a parsed llava-family config; `architecture` names the family in summaries. */
export function llavaSpec(
  cfg: LlavaConfig,
  modelType: string,
  architecture: string,
  extraSummary: Readonly<Record<string, string | number | boolean>> = {},
  variant: LlavaVariant = {},
): ModelSpec {
  const side = cfg.vision.imageSize / cfg.vision.patchSize;
  const leadingTokens = cfg.selectStrategy === 'full' ? 1 : 0;
  return {
    ...llamaDecoderSpec(cfg.text),
    modelType,
    imageTokenId: cfg.imageTokenId,
    imagePlaceholder: '<image>',
    imagePlacement: 'placeholder',
    imageMarkup: '<image>',
    questionTemplate: LLAVA15_QUESTION_TEMPLATE,
    imageTokens: variant.imageTokens ?? {
      kind: 'fixed-grid',
      perImage: clipPatchCount(cfg.vision) + leadingTokens,
      rows: side,
      cols: side,
      leadingTokens,
    },
    imageSize: { height: cfg.vision.imageSize, width: cfg.vision.imageSize },
    summary: {
      architecture,
      ...llamaDecoderSummary(cfg.text),
      visionLayers: cfg.vision.layers,
      visionFeatureLayers: cfg.featureLayers.join(','),
      visionFeatureSelectStrategy: cfg.selectStrategy,
      imageSize: cfg.vision.imageSize,
      patchSize: cfg.vision.patchSize,
      projectorActivation: cfg.projectorAct,
      ...extraSummary,
    },
    build: (names) => buildLlava(cfg, names, variant),
  };
}

export const llava: Architecture = {
  modelType: 'llava',
  parse: (json, source) =>
    llavaSpec(parseLlavaConfig(json, source), 'llava', 'LLaVA (CLIP ViT + MLP projector + LLaMA)'),
};
