/**
 * config.json → the numbers the reference needs, with the defaults of the Hugging Face classes for
 * absent fields: LlavaConfig or VipLlavaConfig (and their CLIP ViT-L/336 vision default), LlamaConfig, MistralConfig,
 * CLIPVisionConfig. A `text_config`/`vision_config` object that is present gets its own class's
 * defaults, not LLaVA's (exactly as `CONFIG_MAPPING[model_type](**dict)` does).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ModelFormatError } from '../errors.ts';

export interface VisionConfig {
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  headDim: number;
  imageSize: number;
  patchSize: number;
  numChannels: number;
  hiddenAct: string;
  layerNormEps: number;
}

export interface TextConfig {
  modelType: 'llama' | 'mistral';
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  hiddenAct: string;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScalingConfig;
  /** q/k/v/o biases (Llama's attention_bias; always false for Mistral). */
  attentionBias: boolean;
  mlpBias: boolean;
  tieWordEmbeddings: boolean;
  /** Mistral's sliding window (keys with query − key ≥ window are masked); null = none. */
  slidingWindow: number | null;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

export interface LlavaConfig {
  /**
   * "vipllava": feature layers from vision_feature_layers, CLS always dropped, projector LayerNorm.
   * "llava_next": base + tiles packed with image_newline (llavaNext.ts), `imageGridPinpoints` set.
   */
  modelType?: 'vipllava' | 'llava_next';
  /** LLaVA-NeXT's image_grid_pinpoints, [height, width]. */
  imageGridPinpoints?: [number, number][];
  imageTokenIndex: number;
  projectorHiddenAct: string;
  projectorBias: boolean;
  visionFeatureLayer: number | number[];
  visionFeatureSelectStrategy: 'default' | 'full';
  imageSeqLength: number;
  /** VIP-LLaVA's projector_layernorm epsilon (LayerNorm before linear_1); absent for llava. */
  projectorLayerNormEps?: number;
  text: TextConfig;
  vision: VisionConfig;
}

/** Activations the reference implements (names as in transformers' ACT2FN). */
export const SUPPORTED_ACTIVATIONS = [
  'gelu',
  'gelu_new',
  'gelu_pytorch_tanh',
  'quick_gelu',
  'silu',
  'swish',
  'relu',
] as const;

type Json = Record<string, unknown>;

export function badConfig(detail: string): ModelFormatError {
  return new ModelFormatError('BAD_CONFIG', `config.json: ${detail}`);
}

/** Field readers: absent or null → default; present → validated. */
export class Fields {
  constructor(
    private readonly json: Json,
    private readonly where: string,
  ) {}

  private raw(key: string): unknown {
    return this.json[key];
  }

  int(key: string, fallback: number, min = 1): number {
    const value = this.raw(key) ?? fallback;
    if (!Number.isSafeInteger(value) || (value as number) < min) {
      throw badConfig(`${this.where}${key} must be an integer ≥ ${min} (got ${JSON.stringify(value)})`);
    }
    return value as number;
  }

  optionalInt(key: string, fallback: number | null, min = 1): number | null {
    const value = key in this.json ? this.raw(key) : fallback;
    if (value === null) return null;
    return this.int(key, value as number, min);
  }

  positive(key: string, fallback: number): number {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw badConfig(`${this.where}${key} must be a positive number (got ${JSON.stringify(value)})`);
    }
    return value;
  }

  bool(key: string, fallback: boolean): boolean {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'boolean')
      throw badConfig(`${this.where}${key} must be true or false (got ${JSON.stringify(value)})`);
    return value;
  }

  activation(key: string, fallback: string): string {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'string' || !(SUPPORTED_ACTIVATIONS as readonly string[]).includes(value)) {
      throw new ModelFormatError(
        'UNSUPPORTED_MODEL',
        `config.json: ${this.where}${key} ${JSON.stringify(value)} is not supported (${SUPPORTED_ACTIVATIONS.join(', ')})`,
      );
    }
    return value;
  }
}

export function object(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badConfig(`${where} must be an object`);
  return value as Json;
}

/** CLIPVisionConfig defaults; LlavaConfig substitutes the CLIP ViT-L/14-336 values when vision_config is absent. */
function parseVision(raw: unknown): VisionConfig {
  const json: Json =
    raw === undefined || raw === null
      ? {
          model_type: 'clip_vision_model',
          intermediate_size: 4096,
          hidden_size: 1024,
          patch_size: 14,
          image_size: 336,
          num_hidden_layers: 24,
          num_attention_heads: 16,
        }
      : object(raw, 'vision_config');
  const modelType = json.model_type ?? 'clip_vision_model';
  if (modelType !== 'clip_vision_model') {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `config.json: vision_config.model_type ${JSON.stringify(modelType)} is not supported (clip_vision_model)`,
    );
  }
  const f = new Fields(json, 'vision_config.');
  const hiddenSize = f.int('hidden_size', 768);
  const heads = f.int('num_attention_heads', 12);
  const imageSize = f.int('image_size', 224);
  const patchSize = f.int('patch_size', 32);
  if (hiddenSize % heads !== 0)
    throw badConfig(
      `vision_config.hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${heads}`,
    );
  if (imageSize % patchSize !== 0)
    throw badConfig(`vision_config.image_size ${imageSize} is not a multiple of patch_size ${patchSize}`);
  return {
    hiddenSize,
    intermediateSize: f.int('intermediate_size', 3072),
    layers: f.int('num_hidden_layers', 12),
    heads,
    headDim: hiddenSize / heads,
    imageSize,
    patchSize,
    numChannels: f.int('num_channels', 3),
    hiddenAct: f.activation('hidden_act', 'quick_gelu'),
    layerNormEps: f.positive('layer_norm_eps', 1e-5),
  };
}

/**
 * RoPE frequency scaling the reference implements (transformers' ROPE_INIT_FUNCTIONS): "linear"
 * divides every inverse frequency by `factor`; "llama3" (Llama 3.1) divides only the long-wavelength
 * ones and blends the band between. "dynamic" (NTK) is refused: transformers recomputes it from the
 * running sequence length on every forward, so it is not one fixed table.
 */
export type RopeScalingConfig =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

/** rope_theta and rope_scaling, or transformers v5's rope_parameters holding both. */
function ropeSettings(json: Json, f: Fields): { theta: number; scaling: RopeScalingConfig } {
  if (json.partial_rotary_factor !== undefined && json.partial_rotary_factor !== 1) {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      'config.json: text_config.partial_rotary_factor must be 1',
    );
  }
  const present = (['rope_scaling', 'rope_parameters'] as const).filter(
    (key) => json[key] !== null && json[key] !== undefined,
  );
  if (present.length === 0) return { theta: f.positive('rope_theta', 10000), scaling: { type: 'default' } };
  const key = present[0];
  const where = `text_config.${key}.`;
  const raw = object(json[key], `text_config.${key}`);
  const type = raw.rope_type ?? raw.type ?? 'default';
  const theta =
    json.rope_theta === undefined && raw.rope_theta !== undefined
      ? new Fields(raw, where).positive('rope_theta', 10000)
      : f.positive('rope_theta', 10000);
  // Required keys as transformers' rope validation has them: absent → an error, never a default.
  const need = (name: string): number => {
    const value = raw[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw badConfig(`${where}${name} must be a positive number (got ${JSON.stringify(value)})`);
    }
    return value;
  };
  switch (type) {
    case 'default':
      return { theta, scaling: { type: 'default' } };
    case 'linear':
      return { theta, scaling: { type: 'linear', factor: need('factor') } };
    case 'llama3': {
      const scaling = {
        type: 'llama3' as const,
        factor: need('factor'),
        lowFreqFactor: need('low_freq_factor'),
        highFreqFactor: need('high_freq_factor'),
        originalMaxPositionEmbeddings: need('original_max_position_embeddings'),
      };
      if (scaling.highFreqFactor <= scaling.lowFreqFactor) {
        throw badConfig(`${where}high_freq_factor must exceed low_freq_factor`);
      }
      return { theta, scaling };
    }
    default:
      throw new ModelFormatError(
        'UNSUPPORTED_MODEL',
        `config.json: ${where}rope_type ${JSON.stringify(type)} is not supported (default, linear, llama3)`,
      );
  }
}

/** LlamaConfig / MistralConfig defaults. */
export function parseText(raw: unknown): TextConfig {
  const json: Json = raw === undefined || raw === null ? {} : object(raw, 'text_config');
  const modelType = json.model_type ?? 'llama';
  if (modelType !== 'llama' && modelType !== 'mistral') {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `config.json: text_config.model_type ${JSON.stringify(modelType)} is not supported (llama, mistral)`,
    );
  }
  const mistral = modelType === 'mistral';
  const f = new Fields(json, 'text_config.');
  const hiddenSize = f.int('hidden_size', 4096);
  const heads = f.int('num_attention_heads', 32);
  // MistralConfig's default is 8, but an explicit null means one kv head per query head (as for Llama).
  const kvHeads = f.int('num_key_value_heads', mistral && !('num_key_value_heads' in json) ? 8 : heads);
  if (heads % kvHeads !== 0)
    throw badConfig(
      `text_config.num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`,
    );
  const headDim = f.optionalInt('head_dim', null) ?? hiddenSize / heads;
  if (!Number.isInteger(headDim))
    throw badConfig(
      `text_config.hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${heads}`,
    );
  if (headDim % 2 !== 0) throw badConfig(`text_config head_dim ${headDim} must be even for RoPE`);
  const eos = json.eos_token_id ?? 2;
  const eosTokenIds = (Array.isArray(eos) ? eos : [eos]).filter((id) => id !== null) as number[];
  if (!eosTokenIds.every((id) => Number.isSafeInteger(id)))
    throw badConfig(`text_config.eos_token_id ${JSON.stringify(eos)} is invalid`);
  const rope = ropeSettings(json, f);
  return {
    modelType,
    vocabSize: f.int('vocab_size', 32000),
    hiddenSize,
    intermediateSize: f.int('intermediate_size', mistral ? 14336 : 11008),
    layers: f.int('num_hidden_layers', 32),
    heads,
    kvHeads,
    headDim,
    hiddenAct: f.activation('hidden_act', 'silu'),
    rmsNormEps: f.positive('rms_norm_eps', 1e-6),
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    attentionBias: mistral ? false : f.bool('attention_bias', false),
    mlpBias: mistral ? false : f.bool('mlp_bias', false),
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    slidingWindow: mistral ? f.optionalInt('sliding_window', 4096) : null,
    bosTokenId: f.optionalInt('bos_token_id', 1, 0),
    eosTokenIds,
  };
}

export function parseLlavaConfig(raw: unknown): LlavaConfig {
  const json = object(raw, 'the document');
  const known = [undefined, 'llava', 'vipllava', 'llava_next'];
  if (!known.includes(json.model_type as string | undefined)) {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `config.json: model_type ${JSON.stringify(json.model_type)} is not "llava", "vipllava" or "llava_next"`,
    );
  }
  const vip = json.model_type === 'vipllava';
  const next = json.model_type === 'llava_next';
  const f = new Fields(json, '');
  const vision = parseVision(json.vision_config);
  const text = parseText(json.text_config);

  // VipLlavaConfig: vision_feature_layers, default [-2, -5, -8, -11, 6]; LlavaConfig: vision_feature_layer, -2.
  const layerKey = vip ? 'vision_feature_layers' : 'vision_feature_layer';
  const layer = json[layerKey] ?? (vip ? [-2, -5, -8, -11, 6] : -2);
  const layers = Array.isArray(layer) ? layer : [layer];
  const count = vision.layers + 1; // hidden_states: embeddings + one per encoder layer
  for (const l of layers) {
    if (!Number.isSafeInteger(l) || (l as number) < -count || (l as number) >= count) {
      throw badConfig(`${layerKey} ${JSON.stringify(layer)} must index the ${count} vision hidden states`);
    }
  }
  if (layers.length === 0) throw badConfig(`${layerKey} must not be an empty list`);
  // VIP-LLaVA has no select strategy: it always drops the CLS row.
  const strategy = vip ? 'default' : (json.vision_feature_select_strategy ?? 'default');
  if (strategy !== 'default' && strategy !== 'full') {
    throw badConfig(`vision_feature_select_strategy ${JSON.stringify(strategy)} must be "default" or "full"`);
  }
  const imageTokenIndex = f.int(
    json.image_token_index === undefined ? 'image_token_id' : 'image_token_index',
    32000,
    0,
  );
  return {
    ...(vip ? { modelType: 'vipllava' as const } : {}),
    ...(next ? { modelType: 'llava_next' as const, imageGridPinpoints: pinpoints(json, vision) } : {}),
    imageTokenIndex,
    projectorHiddenAct: f.activation('projector_hidden_act', 'gelu'),
    // VipLlavaMultiModalProjector's linears always have biases.
    projectorBias: vip ? true : f.bool('multimodal_projector_bias', true),
    visionFeatureLayer: layer as number | number[],
    visionFeatureSelectStrategy: strategy,
    imageSeqLength: f.int('image_seq_length', 576),
    ...(vip ? { projectorLayerNormEps: f.positive('projector_layernorm_eps', 1e-5) } : {}),
    text,
    vision,
  };
}

/** LlavaNextConfig.image_grid_pinpoints (its default list), each a multiple of the tower's image size. */
function pinpoints(json: Record<string, unknown>, vision: VisionConfig): [number, number][] {
  const raw = json.image_grid_pinpoints ?? [
    [336, 672],
    [672, 336],
    [672, 672],
    [1008, 336],
    [336, 1008],
  ];
  const size = vision.imageSize;
  const ok = (p: unknown): p is [number, number] =>
    Array.isArray(p) && p.length === 2 && p.every((v) => Number.isSafeInteger(v) && v > 0 && v % size === 0);
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every(ok)) {
    throw badConfig(
      `image_grid_pinpoints ${JSON.stringify(raw)} must be [height, width] pairs of multiples of ${size}`,
    );
  }
  return raw.map(([h, w]) => [h, w]);
}

export async function readLlavaConfig(dir: string): Promise<LlavaConfig> {
  let text: string;
  try {
    text = await readFile(join(dir, 'config.json'), 'utf8');
  } catch (error) {
    throw new ModelFormatError(
      'MISSING_FILE',
      `cannot read ${join(dir, 'config.json')}: ${(error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw badConfig(`not valid JSON (${(error as Error).message})`);
  }
  return parseLlavaConfig(json);
}
