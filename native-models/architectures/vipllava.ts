/**
 * VIP-LLaVA (transformers' VipLlavaForConditionalGeneration): LLaVA with features from several CLIP
 * layers and a LayerNorm in front of the projector MLP. Everything else (towers, key layouts, graphs)
 * is llava.ts; what differs, from modeling_vipllava.py:
 *
 *   features = concat(hidden_states[i][:, 1:] for i in vision_feature_layers)   (always drops CLS)
 *   image_features = linear_2(act(linear_1(projector_layernorm(features))))      (both linears biased)
 */
import { ConfigReader } from '../config/fields.ts';
import { llavaSpec, parseFeatureLayers, parseLlavaBackbone, type LlavaConfig } from './llava.ts';
import type { Architecture, ModelSpec } from './types.ts';

/** VipLlavaConfig's default: the 2nd, 5th, 8th and 11th states from the end, and the 6th. */
const DEFAULT_FEATURE_LAYERS = [-2, -5, -8, -11, 6];

function parseVipLlavaConfig(json: unknown, source: string): LlavaConfig & { projectorLayerNormEps: number } {
  const c = ConfigReader.root(json, source);
  const backbone = parseLlavaBackbone(c, source);
  return {
    ...backbone,
    featureLayers: parseFeatureLayers(c, 'vision_feature_layers', DEFAULT_FEATURE_LAYERS, backbone.vision),
    selectStrategy: 'default',
    projectorBias: true,
    projectorLayerNormEps: c.number('projector_layernorm_eps', 1e-5),
  };
}

export const vipllava: Architecture = {
  modelType: 'vipllava',
  parse(json: unknown, source: string): ModelSpec {
    const cfg = parseVipLlavaConfig(json, source);
    return llavaSpec(
      cfg,
      'vipllava',
      'VIP-LLaVA (CLIP ViT, multi-layer features + LN-MLP projector, LLaMA)',
      {
        projectorLayerNormEps: cfg.projectorLayerNormEps,
      },
    );
  },
};
