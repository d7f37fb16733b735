/**
 * The vision graph's inputs for one prepared image, one builder per image-token scheme (not per
 * architecture): the pixels as the family's tower takes them, plus what the graph cannot compute
 * statically (LLaVA-NeXT's pack index, Qwen's per-grid rotary tables and windows, InstructBLIP's
 * instruction ids for the Q-Former).
 */
import { totalmem } from 'node:os';

import { VISION_IO } from '../../../native-models/architectures/contract.ts';
import type { ImageTokenScheme, ModelSpec } from '../../../native-models/architectures/types.ts';
import { FusionError } from '../../common/errors.ts';
import { anyresTokenMap } from '../analysis/imageTokens.ts';
import { nextFeatureIndex } from '../analysis/nextTokenMap.ts';
import type { ImageProcessorConfig, ProcessedImage } from '../image/index.ts';
import type { TensorIn } from '../runtime/session.ts';

export interface VisionContext {
  readonly spec: ModelSpec;
  readonly imageConfig: ImageProcessorConfig;
  /** The instruction through the Q-Former's tokenizer ('queries' schemes only). */
  readonly qformerInputIds?: readonly number[];
  /** Memory the vision attention may use a quarter of (default: the machine's). */
  readonly memoryBytes?: number;
}

type Builder<K extends ImageTokenScheme['kind']> = (
  scheme: Extract<ImageTokenScheme, { kind: K }>,
  image: ProcessedImage,
  ctx: VisionContext,
) => Record<string, TensorIn>;

const plainImage = (image: ProcessedImage): Record<string, TensorIn> => ({
  [VISION_IO.pixels]: { data: image.pixelValues, dims: [1, 3, image.height, image.width] },
});

const BUILDERS: { readonly [K in ImageTokenScheme['kind']]: Builder<K> } = {
  'fixed-grid': (_scheme, image) => plainImage(image),
  anyres: (scheme, image, ctx) => {
    const index = nextFeatureIndex(anyresTokenMap(scheme, image, ctx.imageConfig));
    const patches = image.anyres?.patches ?? [];
    const size = 3 * image.height * image.width;
    const stack = new Float32Array(patches.length * size);
    patches.forEach((p, i) => stack.set(p.pixelValues, i * size));
    return {
      [VISION_IO.pixels]: { data: stack, dims: [patches.length, 3, image.height, image.width] },
      [VISION_IO.tokenIndex]: { data: index, dims: [index.length] },
    };
  },
  'merged-patches': (scheme, image, ctx) => {
    const patches = image.patches;
    if (!patches || !ctx.spec.visionGridInputs) {
      throw new FusionError(
        'BAD_CONFIG',
        `${ctx.spec.modelType} needs flattened patches from its own image processor, but the image was prepared by ${ctx.imageConfig.type}`,
      );
    }
    const { t, h, w, values, patchWidth } = patches;
    checkAttentionFits(t * h * w, scheme.visionHeads, ctx.memoryBytes ?? totalmem());
    return {
      [VISION_IO.pixels]: { data: values, dims: [t * h * w, patchWidth] },
      ...ctx.spec.visionGridInputs({ t, h, w }),
    };
  },
  queries: (_scheme, image, ctx) => {
    const ids = ctx.qformerInputIds;
    if (!ids || ids.length === 0) throw new Error('a query-token model needs the Q-Former input ids');
    return {
      ...plainImage(image),
      [VISION_IO.qformerIds]: { data: BigInt64Array.from(ids, (id) => BigInt(id)), dims: [1, ids.length] },
    };
  },
};

/**
 * Refuses an image whose full vision attention (heads × N² float32 scores, and for windows an N × N
 * mask) would not fit in a quarter of the machine's memory: ONNX Runtime would otherwise abort the
 * process. The fix is in preprocessor_config.json, so the message names it.
 */
export function checkAttentionFits(patches: number, heads: number, memoryBytes: number): void {
  const bytes = (heads + 1) * patches * patches * 4;
  if (bytes > memoryBytes / 4) {
    throw new FusionError(
      'BAD_IMAGE',
      `the image gives ${patches} vision patches, whose attention needs ${(bytes / 2 ** 30).toFixed(1)} GiB, more than a quarter of this machine's ${(memoryBytes / 2 ** 30).toFixed(0)} GiB; lower max_pixels in preprocessor_config.json (or resize the image)`,
    );
  }
}

export function visionInputs(image: ProcessedImage, ctx: VisionContext): Record<string, TensorIn> {
  const scheme = ctx.spec.imageTokens;
  return (BUILDERS[scheme.kind] as Builder<typeof scheme.kind>)(scheme as never, image, ctx);
}
