/**
 * The Qwen2-VL and Qwen2.5-VL vision towers (transformers' Qwen2VisionTransformerPretrainedModel and
 * Qwen2_5_VisionTransformerPretrainedModel) on one image's flattened patches:
 *
 *   pixel_values [N, C·T·P·P] ──patch_embed (Conv3d, kernel = stride: a MatMul)──▶ [N, W]
 *     (2.5: ──Reshape [N/m², m², W]──Gather(vision_window_index)──▶ window order)
 *   ──blocks: x + proj(attn(norm1(x), 2-D RoPE)), then + MLP(norm2(·))──▶ [1, N, W]
 *     2-VL: LayerNorm, fused qkv, full attention, fc1 → quick_gelu → fc2
 *     2.5:  RMSNorm, fused qkv, window attention (vision_window_bias) except at
 *           fullatt_block_indexes, SwiGLU with biases
 *   ──merger: ln_q, Reshape [N/m², m²·W], Linear → GELU → Linear──▶ [N/m², D]
 *     (2.5: ──Gather(vision_window_restore)──▶ raster order)  ──▶ image_features [1, N/m², D]
 *
 * The rotary tables and window inputs depend on the image's grid, so the engine computes them
 * (qwenVisionGrid.ts) and the graph stays static. Contract names: architectures/contract.ts VISION_IO.
 */
import { activation, assertActivation } from '../blocks/activations.ts';
import { applyRope, fusedQkvHeads, mergeHeads, scaledDotProductAttention } from '../blocks/attention.ts';
import { linear } from '../blocks/linear.ts';
import { layerNorm, rmsNorm } from '../blocks/norms.ts';
import { gatedMlp, mlp, preNormBlock } from '../blocks/transformerBlock.ts';
import { VISION_IO } from '../architectures/contract.ts';
import type { ConfigReader } from '../config/fields.ts';
import { ModelFormatError } from '../errors.ts';
import { GraphBuilder, type BuiltGraph } from '../onnx/builder.ts';
import { TensorDataType } from '../onnx/encode.ts';

/** Both towers' normalisations use this epsilon, fixed in transformers' code (not in the config). */
const VISION_NORM_EPS = 1e-6;

export interface QwenWindowConfig {
  /** vision_config.window_size in pixels. */
  readonly size: number;
  /** Window side in merged units: window_size / (patch_size · spatial_merge_size). */
  readonly units: number;
  /** Blocks that attend over the whole image. */
  readonly fullAttentionBlocks: readonly number[];
}

export interface QwenVisionConfig {
  readonly variant: 'qwen2_vl' | 'qwen2_5_vl';
  readonly depth: number;
  /** The tower's width: embed_dim (2-VL) or hidden_size (2.5). */
  readonly width: number;
  readonly heads: number;
  readonly headDim: number;
  readonly intermediateSize: number;
  readonly hiddenAct: string;
  /** The merger's output, the language model's width: hidden_size (2-VL) or out_hidden_size (2.5). */
  readonly outWidth: number;
  readonly channels: number;
  readonly patchSize: number;
  readonly mergeSize: number;
  readonly temporalPatchSize: number;
  /** Qwen2.5-VL only. */
  readonly window: QwenWindowConfig | undefined;
}

/** Qwen2VLVisionConfig / Qwen2_5_VLVisionConfig defaults. */
const DEFAULTS = {
  qwen2_vl: { depth: 32, width: 1280, out: 3584, act: 'quick_gelu', heads: 16 },
  qwen2_5_vl: { depth: 32, width: 3584, out: 3584, act: 'silu', heads: 16 },
} as const;
const DEFAULT_FULL_ATTENTION_BLOCKS = [7, 15, 23, 31];

/**
 * Fields both towers share (the width under `widthKey`), with the checks every grid computation
 * relies on and the variant's defaults.
 */
function parseCommon(c: ConfigReader, variant: QwenVisionConfig['variant'], widthKey: string) {
  const d = DEFAULTS[variant];
  const width = c.int(widthKey, d.width);
  const heads = c.int('num_heads', d.heads);
  if (width % heads !== 0) c.fail('num_heads', `a divisor of ${widthKey} (${width})`);
  const headDim = width / heads;
  // The 2-D rotary embedding gives half of each head to rows and half to columns, rotating pairs.
  if (headDim % 4 !== 0) {
    c.fail(
      'num_heads',
      `such that ${widthKey} / num_heads is a multiple of 4 (2-D rotary embedding), got head dim ${headDim}`,
    );
  }
  // transformers reads in_channels; configs on the hub often spell it in_chans (which it ignores).
  const channelsKey = c.has('in_channels') || !c.has('in_chans') ? 'in_channels' : 'in_chans';
  const channels = c.int(channelsKey, 3);
  if (channels !== 3) c.fail(channelsKey, '3 (RGB)');
  const patchSize = c.int('patch_size', 14);
  const mergeSize = c.int('spatial_merge_size', 2);
  const temporalPatchSize = c.int('temporal_patch_size', 2);
  const hiddenAct = c.string('hidden_act', d.act);
  assertActivation(hiddenAct, `${c.path}.hidden_act`);
  return {
    variant,
    width,
    heads,
    hiddenAct,
    headDim,
    channels,
    patchSize,
    mergeSize,
    temporalPatchSize,
  };
}

export function parseQwen2VisionConfig(c: ConfigReader): QwenVisionConfig {
  const d = DEFAULTS.qwen2_vl;
  const common = parseCommon(c, 'qwen2_vl', 'embed_dim');
  const ratio = c.number('mlp_ratio', 4);
  return {
    depth: c.int('depth', d.depth, { max: 1024 }),
    intermediateSize: Math.floor(common.width * ratio), // transformers: int(embed_dim * mlp_ratio)
    outWidth: c.int('hidden_size', d.out),
    window: undefined,
    ...common,
  };
}

export function parseQwen25VisionConfig(c: ConfigReader): QwenVisionConfig {
  const d = DEFAULTS.qwen2_5_vl;
  const common = parseCommon(c, 'qwen2_5_vl', 'hidden_size');
  const depth = c.int('depth', d.depth, { max: 1024 });
  const unit = common.patchSize * common.mergeSize;
  const size = c.int('window_size', 112);
  if (size % unit !== 0) {
    c.fail(
      'window_size',
      `a multiple of patch_size × spatial_merge_size (${common.patchSize} × ${common.mergeSize} = ${unit}): windows are whole merged tokens`,
    );
  }
  return {
    depth,
    intermediateSize: c.int('intermediate_size', 3420),
    outWidth: c.int('out_hidden_size', d.out),
    window: { size, units: size / unit, fullAttentionBlocks: parseFullAttentionBlocks(c, depth) },
    ...common,
  };
}

function parseFullAttentionBlocks(c: ConfigReader, depth: number): number[] {
  const key = 'fullatt_block_indexes';
  const raw = c.has(key) ? c.raw(key) : DEFAULT_FULL_ATTENTION_BLOCKS;
  const expected = `a list of block indexes in [0, ${depth - 1}] (vision_config.depth is ${depth})`;
  const ok =
    Array.isArray(raw) &&
    raw.every((v) => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < depth);
  if (!ok) {
    if (!c.has(key)) {
      // A small tower does not fit transformers' default, which the config relied on.
      throw new ModelFormatError(
        'BAD_CONFIG',
        `${c.path}.${key} is absent, and transformers' default ${JSON.stringify(DEFAULT_FULL_ATTENTION_BLOCKS)} does not fit: it must be ${expected}`,
      );
    }
    c.fail(key, expected);
  }
  return [...new Set(raw as number[])].sort((a, b) => a - b);
}

/** Values per flattened patch: channels × temporal patch × patch × patch. */
export function qwenPatchWidth(cfg: QwenVisionConfig): number {
  return cfg.channels * cfg.temporalPatchSize * cfg.patchSize * cfg.patchSize;
}

/** The vision graph of the contract; `prefix` is where the checkpoint keeps the tower ("visual"). */
export function buildQwenVision(cfg: QwenVisionConfig, prefix: string): BuiltGraph {
  const g = new GraphBuilder('vision');
  const F = TensorDataType.FLOAT;
  const { width: W, mergeSize: m, outWidth: D, headDim: dv } = cfg;
  const unit = m * m;
  const patchWidth = qwenPatchWidth(cfg);
  const pixels = g.input(VISION_IO.pixels, F, ['N', patchWidth]);
  const cos = g.input(VISION_IO.ropeCos, F, ['N', dv]);
  const sin = g.input(VISION_IO.ropeSin, F, ['N', dv]);
  const windowed = cfg.window !== undefined;
  const index = windowed ? g.input(VISION_IO.windowIndex, TensorDataType.INT64, ['U']) : '';
  const restore = windowed ? g.input(VISION_IO.windowRestore, TensorDataType.INT64, ['U']) : '';
  const bias = windowed ? g.input(VISION_IO.windowBias, F, [1, 1, 'N', 'N']) : undefined;

  const features = g.scope('visual', () => {
    const embedded = g.scope('patch_embed', () => {
      // Conv3d with kernel = stride over a [C, T, P, P] patch is a dot product with the kernel
      // flattened in the same (c, t, y, x) order the processor flattens each patch.
      const kernel = g.weight(`${prefix}.patch_embed.proj.weight`, [
        W,
        cfg.channels,
        cfg.temporalPatchSize,
        cfg.patchSize,
        cfg.patchSize,
      ]);
      const flat = g.op('Reshape', [kernel, g.constInt64([W, patchWidth])]);
      return g.op('MatMul', [pixels, g.op('Transpose', [flat], { perm: [1, 0] })]);
    });
    let h = windowed
      ? g.scope('window_order', () => {
          const units = g.op('Reshape', [embedded, g.constInt64([-1, unit, W])]);
          const gathered = g.op('Gather', [units, index], { axis: 0 });
          return g.op('Reshape', [gathered, g.constInt64([1, -1, W])]);
        })
      : g.op('Unsqueeze', [embedded, g.constInt64([0])]);
    const cos4d = g.op('Unsqueeze', [cos, g.constInt64([0, 1])]);
    const sin4d = g.op('Unsqueeze', [sin, g.constInt64([0, 1])]);
    const full = new Set(cfg.window?.fullAttentionBlocks ?? []);
    for (let i = 0; i < cfg.depth; i++) {
      h = visionBlock(g, cfg, `${prefix}.blocks.${i}`, i, h, cos4d, sin4d, full.has(i) ? undefined : bias);
    }
    return g.scope('merger', () => {
      const p = `${prefix}.merger`;
      const normed = norm(g, cfg, h, `${p}.ln_q`, 'ln_q');
      const grouped = g.op('Reshape', [normed, g.constInt64([-1, unit * W])]);
      const hidden = linear(g, grouped, `${p}.mlp.0`, unit * W, unit * W, true, 'mlp.0');
      const out = linear(g, activation(g, hidden, 'gelu'), `${p}.mlp.2`, unit * W, D, true, 'mlp.2');
      const raster = windowed ? g.op('Gather', [out, restore], { axis: 0 }, 'window_restore') : out;
      return g.op('Unsqueeze', [raster, g.constInt64([0])]);
    });
  });
  g.output(features, VISION_IO.features, F, [1, 'U', D]);
  return g.build();
}

/** LayerNorm with bias (2-VL) or RMSNorm (2.5), both at ε 1e-6. */
function norm(g: GraphBuilder, cfg: QwenVisionConfig, x: string, prefix: string, label: string): string {
  return cfg.variant === 'qwen2_vl'
    ? layerNorm(g, x, prefix, cfg.width, VISION_NORM_EPS, label)
    : rmsNorm(g, x, `${prefix}.weight`, cfg.width, VISION_NORM_EPS, label);
}

function visionBlock(
  g: GraphBuilder,
  cfg: QwenVisionConfig,
  p: string,
  index: number,
  h: string,
  cos4d: string,
  sin4d: string,
  bias: string | undefined,
): string {
  const { width: W, heads: H, headDim: d } = cfg;
  return g.scope(`blocks.${index}`, () =>
    preNormBlock(g, h, {
      norm1: (x) => norm(g, cfg, x, `${p}.norm1`, 'norm1'),
      attention: (normed) =>
        g.scope('attn', () => {
          const [q, k, v] = fusedQkvHeads(g, normed, `${p}.attn.qkv`, W, H, true);
          const { output } = scaledDotProductAttention(
            g,
            applyRope(g, q, cos4d, sin4d, d),
            applyRope(g, k, cos4d, sin4d, d),
            v,
            d ** -0.5,
            bias,
          );
          return linear(g, mergeHeads(g, output, W), `${p}.attn.proj`, W, W, true, 'proj');
        }),
      norm2: (x) => norm(g, cfg, x, `${p}.norm2`, 'norm2'),
      mlp: (x) =>
        cfg.variant === 'qwen2_vl'
          ? mlp(g, x, `${p}.mlp`, W, cfg.intermediateSize, cfg.hiddenAct)
          : gatedMlp(g, x, `${p}.mlp`, W, cfg.intermediateSize, cfg.hiddenAct, true),
    }),
  );
}
