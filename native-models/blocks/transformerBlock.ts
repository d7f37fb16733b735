/**
 * Transformer block pieces shared by the vision towers and the decoder. The feed-forward halves build
 * under an `mlp` scope, their linears named as the checkpoint names them under `prefix` ("….mlp").
 */
import type { GraphBuilder } from '../onnx/builder.ts';
import { activation } from './activations.ts';
import { linear } from './linear.ts';
import { layerNorm } from './norms.ts';

/**
 * fc1 → act → fc2, both with bias (CLIP, BLIP-2's ViT, Qwen2-VL's vision blocks).
 *
 *   x ──fc1──act──fc2──▶ y
 */
export function mlp(
  g: GraphBuilder,
  x: string,
  prefix: string,
  width: number,
  intermediate: number,
  act: string,
): string {
  return g.scope('mlp', () => {
    const fc1 = linear(g, x, `${prefix}.fc1`, width, intermediate, true, 'fc1');
    return linear(g, activation(g, fc1, act), `${prefix}.fc2`, intermediate, width, true, 'fc2');
  });
}

/**
 * down_proj(act(gate_proj(x)) · up_proj(x)) (LLaMA's SwiGLU, Qwen2.5-VL's vision blocks).
 *
 *   x ──gate_proj──act──┐
 *   x ──up_proj────────Mul──down_proj──▶ y
 */
export function gatedMlp(
  g: GraphBuilder,
  x: string,
  prefix: string,
  width: number,
  intermediate: number,
  act: string,
  bias: boolean,
): string {
  return g.scope('mlp', () => {
    const gate = linear(g, x, `${prefix}.gate_proj`, width, intermediate, bias, 'gate_proj');
    const up = linear(g, x, `${prefix}.up_proj`, width, intermediate, bias, 'up_proj');
    const product = g.op('Mul', [activation(g, gate, act), up]);
    return linear(g, product, `${prefix}.down_proj`, intermediate, width, bias, 'down_proj');
  });
}

/** The parts of a pre-norm residual block, each building its own nodes (and scopes). */
export interface PreNormBlockParts {
  readonly norm1: (x: string) => string;
  readonly attention: (normed: string) => string;
  readonly norm2: (x: string) => string;
  readonly mlp: (normed: string) => string;
}

/**
 * The pre-norm residual block of the ViTs (CLIP, BLIP-2, Qwen-VL) and the LLaMA decoder layer:
 *
 *   h ──norm1──attention──Add(h)──▶ mid ──norm2──mlp──Add(mid)──▶ out
 *
 * The two Adds are labelled attn_residual and mlp_residual.
 */
export function preNormBlock(g: GraphBuilder, h: string, parts: PreNormBlockParts): string {
  const attn = parts.attention(parts.norm1(h));
  const mid = g.op('Add', [h, attn], undefined, 'attn_residual');
  const out = parts.mlp(parts.norm2(mid));
  return g.op('Add', [mid, out], undefined, 'mlp_residual');
}

/** What a CLIP-style ViT layer reads of its tower's config. */
export interface VitLayerConfig {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly hiddenAct: string;
  readonly layerNormEps: number;
}

/**
 * One CLIP-style ViT encoder layer (CLIPEncoderLayer, Blip2EncoderLayer) under scope `layers.{index}`:
 * LayerNorms `{p}.layer_norm1` / `{p}.layer_norm2` and fc1 → act → fc2 at `{p}.mlp` around the
 * caller's attention, which projects `normed` and builds its own scope.
 *
 *   h + attention(layer_norm1(h)), then + mlp(layer_norm2(·))
 */
export function vitEncoderLayer(
  g: GraphBuilder,
  cfg: VitLayerConfig,
  p: string,
  index: number,
  h: string,
  attention: (normed: string) => string,
): string {
  const D = cfg.hiddenSize;
  const norm = (x: string, name: string) => layerNorm(g, x, `${p}.${name}`, D, cfg.layerNormEps, name);
  return g.scope(`layers.${index}`, () =>
    preNormBlock(g, h, {
      norm1: (x) => norm(x, 'layer_norm1'),
      attention,
      norm2: (x) => norm(x, 'layer_norm2'),
      mlp: (x) => mlp(g, x, `${p}.mlp`, D, cfg.intermediateSize, cfg.hiddenAct),
    }),
  );
}
