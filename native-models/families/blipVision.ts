/**
 * BLIP-2's vision tower (transformers' Blip2VisionModel / InstructBlipVisionModel, an EVA-CLIP ViT):
 *
 *   pixels ──Conv(patch, bias)──flatten──Concat(class)──Add(position)──[pre-LN layers]──post_layernorm──▶
 *
 * Unlike CLIP (families/clip.ts) there is no pre-LayerNorm, the class and position embeddings are bare
 * parameters ([1, 1, D] and [1, 1 + patches, D]), attention projects q, k and v with one fused `qkv`
 * linear (bias present only with qkv_bias; transformers adds whatever its key part holds) and an
 * output `projection`, and post_layernorm is applied to every token: that last hidden state is the
 * image_embeds the Q-Former cross-attends to.
 */
import { assertActivation } from '../blocks/activations.ts';
import { fusedQkvHeads, mergeHeads, scaledDotProductAttention } from '../blocks/attention.ts';
import { linear } from '../blocks/linear.ts';
import { layerNorm } from '../blocks/norms.ts';
import { vitEncoderLayer } from '../blocks/transformerBlock.ts';
import type { ConfigReader } from '../config/fields.ts';
import { ModelFormatError } from '../errors.ts';
import type { GraphBuilder } from '../onnx/builder.ts';

export interface BlipVisionConfig {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly layers: number;
  readonly heads: number;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly hiddenAct: string;
  readonly layerNormEps: number;
  readonly qkvBias: boolean;
}

/** vision_config.model_type values of the BLIP-2 ViT (absent: the owning config's own class). */
const BLIP_VISION_TYPES = ['instructblip_vision_model', 'blip_2_vision_model'];

/** Reads vision_config with InstructBlipVisionConfig's defaults (EVA ViT-g/14 at 224 px). */
export function parseBlipVisionConfig(c: ConfigReader): BlipVisionConfig {
  const modelType = c.string('model_type', BLIP_VISION_TYPES[0]);
  if (!BLIP_VISION_TYPES.includes(modelType)) {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `${c.path}.model_type "${modelType}" is not a supported vision tower (supported: ${BLIP_VISION_TYPES.join(', ')})`,
    );
  }
  const hiddenSize = c.int('hidden_size', 1408);
  const heads = c.int('num_attention_heads', 16);
  if (hiddenSize % heads !== 0) c.fail('num_attention_heads', `a divisor of hidden_size (${hiddenSize})`);
  const imageSize = c.int('image_size', 224);
  const patchSize = c.int('patch_size', 14);
  if (imageSize % patchSize !== 0) c.fail('patch_size', `a divisor of image_size (${imageSize})`);
  const hiddenAct = c.string('hidden_act', 'gelu');
  assertActivation(hiddenAct, `${c.path}.hidden_act`);
  if (c.int('num_channels', 3) !== 3) c.fail('num_channels', '3 (RGB)');
  return {
    hiddenSize,
    intermediateSize: c.int('intermediate_size', 6144),
    layers: c.int('num_hidden_layers', 39, { max: 1024 }),
    heads,
    imageSize,
    patchSize,
    hiddenAct,
    layerNormEps: c.number('layer_norm_eps', 1e-6),
    qkvBias: c.bool('qkv_bias', true),
  };
}

/** Patches per side of the tower's grid. */
export function blipPatchSide(cfg: BlipVisionConfig): number {
  return cfg.imageSize / cfg.patchSize;
}

/**
 * pixels [1, 3, S, S] → image_embeds [1, 1 + patches, D] (class token first), post_layernorm applied.
 * One image per call: the class token is concatenated as stored, without expanding over a batch.
 */
export function blipImageEmbeds(
  g: GraphBuilder,
  cfg: BlipVisionConfig,
  prefix: string,
  pixels: string,
): string {
  const D = cfg.hiddenSize;
  const P = cfg.patchSize;
  const patches = blipPatchSide(cfg) ** 2;
  return g.scope('vision_model', () => {
    let h = g.scope('embeddings', () => {
      const conv = g.op(
        'Conv',
        [
          pixels,
          g.weight(`${prefix}.embeddings.patch_embedding.weight`, [D, 3, P, P]),
          g.weight(`${prefix}.embeddings.patch_embedding.bias`, [D]),
        ],
        { strides: [P, P], kernel_shape: [P, P] },
      );
      const flat = g.op('Transpose', [g.op('Reshape', [conv, g.constInt64([1, D, patches])])], {
        perm: [0, 2, 1],
      });
      const cls = g.weight(`${prefix}.embeddings.class_embedding`, [1, 1, D]);
      const tokens = g.op('Concat', [cls, flat], { axis: 1 });
      return g.op('Add', [tokens, g.weight(`${prefix}.embeddings.position_embedding`, [1, patches + 1, D])]);
    });
    for (let i = 0; i < cfg.layers; i++) {
      const p = `${prefix}.encoder.layers.${i}`;
      h = vitEncoderLayer(g, cfg, p, i, h, (normed) => blipAttention(g, cfg, `${p}.self_attn`, normed));
    }
    return layerNorm(g, h, `${prefix}.post_layernorm`, D, cfg.layerNormEps, 'post_layernorm');
  });
}

/** The layer's attention (Blip2Attention): one fused qkv linear, then `projection`. */
function blipAttention(g: GraphBuilder, cfg: BlipVisionConfig, p: string, x: string): string {
  const D = cfg.hiddenSize;
  return g.scope('self_attn', () => {
    const [q, k, v] = fusedQkvHeads(g, x, `${p}.qkv`, D, cfg.heads, cfg.qkvBias);
    const { output } = scaledDotProductAttention(g, q, k, v, (D / cfg.heads) ** -0.5);
    return linear(g, mergeHeads(g, output, D), `${p}.projection`, D, D, true, 'projection');
  });
}
