/**
 * CLIP vision tower (transformers' CLIPVisionModel), as used by LLaVA: patch embedding, class token,
 * position embeddings, pre-LayerNorm, encoder layers; returns the hidden states of chosen layers.
 */
import { assertActivation } from '../blocks/activations.ts';
import { mergeHeads, scaledDotProductAttention, splitHeads } from '../blocks/attention.ts';
import { linear } from '../blocks/linear.ts';
import { layerNorm } from '../blocks/norms.ts';
import { vitEncoderLayer } from '../blocks/transformerBlock.ts';
import type { ConfigReader } from '../config/fields.ts';
import { ModelFormatError } from '../errors.ts';
import type { GraphBuilder } from '../onnx/builder.ts';

export interface ClipVisionConfig {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly layers: number;
  readonly heads: number;
  readonly channels: number;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly hiddenAct: string;
  readonly layerNormEps: number;
}

/** transformers' CLIPVisionConfig defaults; LlavaConfig substitutes LLAVA_VISION_DEFAULTS when absent. */
const CLIP_DEFAULTS = {
  hidden: 768,
  intermediate: 3072,
  layers: 12,
  heads: 12,
  imageSize: 224,
  patchSize: 32,
};
export const LLAVA_VISION_DEFAULTS = {
  hidden: 1024,
  intermediate: 4096,
  layers: 24,
  heads: 16,
  imageSize: 336,
  patchSize: 14,
};

export function parseClipVisionConfig(c: ConfigReader, defaults = CLIP_DEFAULTS): ClipVisionConfig {
  const modelType = c.string('model_type', 'clip_vision_model');
  if (modelType !== 'clip_vision_model' && modelType !== 'clip') {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `${c.path}.model_type "${modelType}" is not a supported vision tower (supported: clip_vision_model)`,
    );
  }
  const hiddenSize = c.int('hidden_size', defaults.hidden);
  const heads = c.int('num_attention_heads', defaults.heads);
  if (hiddenSize % heads !== 0) c.fail('num_attention_heads', `a divisor of hidden_size (${hiddenSize})`);
  const imageSize = c.int('image_size', defaults.imageSize);
  const patchSize = c.int('patch_size', defaults.patchSize);
  if (imageSize % patchSize !== 0) c.fail('patch_size', `a divisor of image_size (${imageSize})`);
  const hiddenAct = c.string('hidden_act', 'quick_gelu');
  assertActivation(hiddenAct, `${c.path}.hidden_act`);
  const channels = c.int('num_channels', 3);
  if (channels !== 3) c.fail('num_channels', '3 (RGB)');
  return {
    hiddenSize,
    intermediateSize: c.int('intermediate_size', defaults.intermediate),
    layers: c.int('num_hidden_layers', defaults.layers, { max: 1024 }),
    heads,
    channels,
    imageSize,
    patchSize,
    hiddenAct,
    layerNormEps: c.number('layer_norm_eps', 1e-5),
  };
}

export function clipPatchCount(cfg: ClipVisionConfig): number {
  return (cfg.imageSize / cfg.patchSize) ** 2;
}

/**
 * Hidden states of the requested layers, indexed as transformers' `hidden_states` tuple
 * (0 = embeddings after pre_layrnorm, i = after encoder layer i). Only the layers up to the deepest
 * requested one are built.
 *
 *   pixels ──Conv(patch)──Reshape/Transpose──Concat(class)──Add(pos)──LayerNorm──[layers]──▶ states
 */
export function clipHiddenStates(
  g: GraphBuilder,
  cfg: ClipVisionConfig,
  prefix: string,
  pixels: string,
  wanted: readonly number[],
): string[] {
  const D = cfg.hiddenSize;
  const patches = clipPatchCount(cfg);
  const states: string[] = [];
  g.scope('vision_tower', () => {
    let h = g.scope('embeddings', () => {
      const conv = g.op(
        'Conv',
        [
          pixels,
          g.weight(`${prefix}.embeddings.patch_embedding.weight`, [D, 3, cfg.patchSize, cfg.patchSize]),
        ],
        {
          strides: [cfg.patchSize, cfg.patchSize],
          kernel_shape: [cfg.patchSize, cfg.patchSize],
        },
      );
      const flat = g.op('Transpose', [g.op('Reshape', [conv, g.constInt64([0, D, patches])])], {
        perm: [0, 2, 1],
      });
      const batch = g.op('Slice', [
        g.op('Shape', [pixels]),
        g.constInt64([0]),
        g.constInt64([1]),
        g.constInt64([0]),
      ]);
      const classShape = g.op('Concat', [batch, g.constInt64([1, D])], { axis: 0 });
      const cls = g.op('Expand', [
        g.op('Reshape', [g.weight(`${prefix}.embeddings.class_embedding`, [D]), g.constInt64([1, 1, D])]),
        classShape,
      ]);
      const tokens = g.op('Concat', [cls, flat], { axis: 1 });
      return g.op('Add', [
        tokens,
        g.weight(`${prefix}.embeddings.position_embedding.weight`, [patches + 1, D]),
      ]);
    });
    h = layerNorm(g, h, `${prefix}.pre_layrnorm`, D, cfg.layerNormEps, 'pre_layrnorm');
    states.push(h);
    const deepest = Math.max(...wanted);
    for (let i = 0; i < deepest; i++) {
      const p = `${prefix}.encoder.layers.${i}`;
      h = vitEncoderLayer(g, cfg, p, i, h, (normed) => clipAttention(g, cfg, `${p}.self_attn`, normed));
      states.push(h);
    }
  });
  return wanted.map((i) => states[i]);
}

/** The layer's attention (CLIPAttention): separate q, k and v projections, then out_proj. */
function clipAttention(g: GraphBuilder, cfg: ClipVisionConfig, p: string, x: string): string {
  const D = cfg.hiddenSize;
  const headDim = D / cfg.heads;
  return g.scope('attn', () => {
    const heads = (name: string) =>
      splitHeads(g, linear(g, x, `${p}.${name}`, D, D, true, name), cfg.heads, headDim);
    const { output } = scaledDotProductAttention(
      g,
      heads('q_proj'),
      heads('k_proj'),
      heads('v_proj'),
      headDim ** -0.5,
    );
    return linear(g, mergeHeads(g, output, D), `${p}.out_proj`, D, D, true, 'out_proj');
  });
}
