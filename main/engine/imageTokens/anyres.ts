/**
 * Any resolution (LLaVA-NeXT): the base image's grid, then the tiles' features cut to the original
 * aspect ratio with an image_newline after each row, so the count and arrangement vary per image.
 * The token map (analysis/nextTokenMap.ts) is the one source of the pack order: the layout reads its
 * rectangles, and the vision graph gathers its rows by the index computed from it.
 */
import { VISION_IO } from '../../../native-models/architectures/contract.ts';
import type { AnyresTokens } from '../../../native-models/architectures/types.ts';
import { FusionError } from '../../common/errors.ts';
import { asLlavaNextConfig, type ImageProcessorConfig, type ProcessedImage } from '../image/index.ts';
import {
  nextFeatureIndex,
  nextImageTokenMap,
  nextTokenLayout,
  type NextTokenMap,
} from '../analysis/nextTokenMap.ts';
import { geometricScheme } from './scheme.ts';

export const anyres = geometricScheme<AnyresTokens>({
  kind: 'anyres',
  facts: (config) => {
    // Varies per image; the model view shows the base image's grid.
    const side = config.tileSize / config.patchSize;
    return { imageTokensPerImage: null, imageGrid: { rows: side, cols: side, leadingTokens: 0 } };
  },
  layout: (config, image, processor) => nextTokenLayout(anyresTokenMap(config, image, processor)),
  // The tower runs on the stack of base + tiles; the graph gathers the packed rows by the map's index.
  visionInputs: (ctx, image) => {
    const index = nextFeatureIndex(anyresTokenMap(ctx.config, image, ctx.imageConfig));
    const patches = image.anyres?.patches ?? [];
    const size = 3 * image.height * image.width;
    const stack = new Float32Array(patches.length * size);
    patches.forEach((p, i) => stack.set(p.pixelValues, i * size));
    return {
      [VISION_IO.pixels]: { data: stack, dims: [patches.length, 3, image.height, image.width] },
      [VISION_IO.tokenIndex]: { data: index, dims: [index.length] },
    };
  },
});

/**
 * The token map for a prepared image: which patch feature (or newline) each image token is. The
 * model's pinpoints and tile size are checked against the processor's here.
 */
export function anyresTokenMap(
  scheme: AnyresTokens,
  image: ProcessedImage,
  processor: ImageProcessorConfig | undefined,
): NextTokenMap {
  if (!processor || !image.anyres) {
    throw new FusionError(
      'BAD_CONFIG',
      `an any-resolution model needs a LlavaNextImageProcessor, but the image was prepared by ${processor?.type ?? 'an unknown processor'}`,
    );
  }
  const { height, width } = image.anyres.imageSize;
  return nextImageTokenMap(
    asLlavaNextConfig(processor),
    {
      patchSize: scheme.patchSize,
      featureSelectStrategy: scheme.featureSelectStrategy,
      clsTokens: scheme.clsTokens,
      imageNewline: scheme.imageNewline,
      modelPinpoints: scheme.pinpoints,
      visionImageSize: scheme.tileSize,
    },
    height,
    width,
  );
}
