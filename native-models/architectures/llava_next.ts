/**
 * LLaVA-NeXT / LLaVA-1.6 (transformers' LlavaNextForConditionalGeneration): LLaVA-1.5's towers, config
 * and projector (llava.ts) run on the base image and every any-resolution tile at once; what differs,
 * from modeling_llava_next.py:
 *
 *   image_features = projector(select(vision_tower(pixel_values[base + tiles])))   [P, side², D]
 *   pack_image_features: base features, then the tiles laid on one grid, cut by unpad_image, an
 *                        image_newline [D] after each row
 *
 * The pack order depends on the image's size, so the graph does not compute it: the engine derives an
 * index from its token map (main/engine/analysis/nextTokenMap.ts, the one source of that order) and
 * the graph gathers rows of [patch features…, image_newline]. The decoder sees the same contract as
 * llava's.
 */
import { ConfigReader } from '../config/fields.ts';
import { ModelFormatError } from '../errors.ts';
import { GraphBuilder, type BuiltGraph } from '../onnx/builder.ts';
import { TensorDataType } from '../onnx/encode.ts';
import { VISION_IO } from './contract.ts';
import {
  llavaSpec,
  parseLlavaConfig,
  projectedImageFeatures,
  type LlavaConfig,
  type LlavaKeyLayout,
} from './llava.ts';
import type { AnyresTokens, Architecture, ModelSpec } from './types.ts';

/** LlavaNextConfig's default image_grid_pinpoints, [height, width]. */
const DEFAULT_PINPOINTS = [
  [336, 672],
  [672, 336],
  [672, 672],
  [1008, 336],
  [336, 1008],
];

function parsePinpoints(c: ConfigReader, tile: number): AnyresTokens['pinpoints'] {
  const key = 'image_grid_pinpoints';
  const raw = c.has(key) ? c.raw(key) : DEFAULT_PINPOINTS;
  if (!Array.isArray(raw) || raw.length === 0) c.fail(key, 'a non-empty list of [height, width] pairs');
  return (raw as unknown[]).map((pair, i) => {
    const ok =
      Array.isArray(pair) &&
      pair.length === 2 &&
      pair.every((v) => Number.isSafeInteger(v) && v > 0 && v % tile === 0);
    if (!ok) {
      // A pinpoint that is not whole tiles would make transformers' grid (pinpoint // tile) disagree
      // with the tiles the processor cuts.
      throw new ModelFormatError(
        'BAD_CONFIG',
        `${c.path}.${key}[${i}] must be a [height, width] pair of multiples of vision_config.image_size (${tile}), got ${JSON.stringify(pair)}`,
      );
    }
    const [height, width] = pair as number[];
    return { height, width };
  });
}

function parseLlavaNextConfig(json: unknown, source: string): { cfg: LlavaConfig; tokens: AnyresTokens } {
  const cfg = parseLlavaConfig(json, source);
  const c = ConfigReader.root(json, source);
  const { patchSize, imageSize } = cfg.vision;
  if (cfg.featureLayers.length !== 1) c.fail('vision_feature_layer', 'a single integer for llava_next');
  const clsTokens = 1; // CLIP's class token
  if (cfg.selectStrategy === 'full') {
    // pack_image_features views each tile as side × side; "full" keeps CLS and gives side² + 1.
    c.fail(
      'vision_feature_select_strategy',
      '"default" for a CLIP tower (its CLS token would make side² + 1 features per tile)',
    );
  }
  return {
    cfg,
    tokens: {
      kind: 'anyres',
      patchSize,
      tileSize: imageSize,
      featureSelectStrategy: cfg.selectStrategy,
      clsTokens,
      imageNewline: true,
      pinpoints: parsePinpoints(c, imageSize),
    },
  };
}

/**
 * The vision graph for any-resolution images:
 *
 *   pixel_values [P, 3, S, S] ──tower, projector──▶ [P, side², D] ──Reshape──▶ [P·side², D] ─┐
 *   image_newline [D] ──Unsqueeze──▶ [1, D] ─────────────────────────────────────────Concat(0)─▶ rows
 *   image_token_index [N] ──────────────────────────────────────────▶ Gather(rows) ──Unsqueeze──▶ [1, N, D]
 *
 * The newline is row P·side² of `rows`. A missing image_newline tensor is one of the checkpoint's
 * weight problems, reported with the rest before any session is built.
 */
function buildNextVision(cfg: LlavaConfig, layout: LlavaKeyLayout): BuiltGraph {
  const g = new GraphBuilder('vision');
  const { imageSize } = cfg.vision;
  const D = cfg.text.hiddenSize;
  const pixels = g.input(VISION_IO.pixels, TensorDataType.FLOAT, ['P', 3, imageSize, imageSize]);
  const index = g.input(VISION_IO.tokenIndex, TensorDataType.INT64, ['N']);
  const features = projectedImageFeatures(g, cfg, layout, pixels);
  const packed = g.scope('pack', () => {
    const flat = g.op('Reshape', [features, g.constInt64([-1, D])]);
    const newline = g.op('Unsqueeze', [g.weight(layout.imageNewline, [D]), g.constInt64([0])]);
    const rows = g.op('Concat', [flat, newline], { axis: 0 });
    return g.op('Unsqueeze', [g.op('Gather', [rows, index], { axis: 0 }), g.constInt64([0])]);
  });
  g.output(packed, VISION_IO.features, TensorDataType.FLOAT, [1, 'N', D]);
  return g.build();
}

export const llavaNext: Architecture = {
  modelType: 'llava_next',
  parse(json: unknown, source: string): ModelSpec {
    const { cfg, tokens } = parseLlavaNextConfig(json, source);
    return llavaSpec(
      cfg,
      'llava_next',
      'LLaVA-NeXT (CLIP ViT on base + any-resolution tiles, MLP projector, LLaMA/Mistral)',
      { imageGridPinpoints: tokens.pinpoints.map((p) => `${p.height}x${p.width}`).join(',') },
      { imageTokens: tokens, buildVision: buildNextVision },
    );
  },
};
