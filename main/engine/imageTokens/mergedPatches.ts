/**
 * Merged patches (Qwen2-VL, Qwen2.5-VL): the processor resizes each image to its own multiple of
 * patch × merge pixels and flattens its patches; every merge × merge block becomes one token, in
 * raster order, so each image gives its own (h / merge) × (w / merge) grid.
 */
import { totalmem } from 'node:os';

import { VISION_IO } from '../../../native-models/architectures/contract.ts';
import type { MergedPatchTokens } from '../../../native-models/architectures/types.ts';
import { FusionError } from '../../common/errors.ts';
import { asQwen2VlConfig, type ImageProcessorConfig, type ProcessedImage } from '../image/index.ts';
import { fixedGridLayout } from './fixedGrid.ts';
import type { ImageTokenLayout } from './layout.ts';
import { geometricScheme } from './scheme.ts';

export const mergedPatches = geometricScheme<MergedPatchTokens>({
  kind: 'merged-patches',
  // Varies per image; no grid to show before an image is prepared.
  facts: () => ({ imageTokensPerImage: null, imageGrid: { rows: 0, cols: 0, leadingTokens: 0 } }),
  layout: (config, image, processor) => mergedPatchLayout(config, image, processor),
  // The flattened patches, plus what depends on the grid (the tower's 2-D rotary tables, windows).
  visionInputs: ({ config, spec, imageConfig }, image) => {
    const patches = image.patches;
    if (!patches || !spec.visionGridInputs) {
      throw new FusionError(
        'BAD_CONFIG',
        `${spec.modelType} needs flattened patches from its own image processor, but the image was prepared by ${imageConfig.type}`,
      );
    }
    const { t, h, w, values, patchWidth } = patches;
    checkAttentionFits(t * h * w, config.visionHeads, totalmem());
    return {
      [VISION_IO.pixels]: { data: values, dims: [t * h * w, patchWidth] },
      ...spec.visionGridInputs({ t, h, w }),
    };
  },
});

/**
 * The processor resized the image to h × w patches; each merge × merge block is one token, raster
 * order, so the grid is (h / merge) × (w / merge) cells of the resized image.
 */
function mergedPatchLayout(
  scheme: MergedPatchTokens,
  image: ProcessedImage,
  processor: ImageProcessorConfig | undefined,
): ImageTokenLayout {
  const patches = image.patches;
  if (!patches || !processor) {
    throw new FusionError(
      'BAD_CONFIG',
      'a merged-patch model (Qwen2-VL) needs its own image processor (Qwen2VLImageProcessor), which gives flattened patches',
    );
  }
  // A processor cutting other patches would scramble the tokens without any shape error.
  const cut = asQwen2VlConfig(processor);
  for (const [key, model, ours] of [
    ['patch_size', scheme.patchSize, cut.patchSize],
    ['merge_size', scheme.mergeSize, cut.mergeSize],
    ['temporal_patch_size', scheme.temporalPatchSize, cut.temporalPatchSize],
  ] as const) {
    if (model !== ours) {
      throw new FusionError(
        'BAD_CONFIG',
        `preprocessor_config.json's ${key} is ${ours} but the model's vision_config says ${model}`,
      );
    }
  }
  const { mergeSize } = scheme;
  if (patches.h % mergeSize !== 0 || patches.w % mergeSize !== 0) {
    throw new FusionError(
      'BAD_CONFIG',
      `the image's ${patches.h}×${patches.w} patch grid is not divisible by the merge size ${mergeSize}`,
    );
  }
  const layout = fixedGridLayout(
    { rows: patches.h / mergeSize, cols: patches.w / mergeSize, leadingTokens: 0 },
    image,
  );
  return { ...layout, grids: layout.grids.map((g) => ({ ...g, label: 'merged patches' })) };
}

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
