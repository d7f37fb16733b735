/**
 * LLaVA-NeXT's "any resolution" arithmetic, as transformers computes it (sizes only, no pixels), shared
 * by the image processor (processors/llavaNext.ts) and the image-token map (analysis/nextTokenMap.ts):
 *
 * - `selectBestResolution`   image_processing_utils.select_best_resolution
 * - `patchOutputSize`        image_processing_utils.get_patch_output_size (LlavaNextImageProcessor
 *                            ._resize_for_patching's target)
 * - `padForPatching`         LlavaNextImageProcessor._pad_for_patching (divmod: the odd pixel goes
 *                            bottom/right)
 * - `unpaddedGrid`           modeling_llava_next.unpad_image on the (rows x p) x (cols x p) feature grid
 * - `processorFeatureCount`  LlavaNextProcessor._get_number_of_features / _get_unpadded_features
 *
 * All float arithmetic is IEEE double in the same order as the Python, so results are identical.
 * Sizes are { height, width } like transformers' (height, width) tuples.
 */
import type { Size } from './transforms.ts';

/**
 * select_best_resolution: the pinpoint with the largest effective resolution (the original scaled to
 * fit, truncated with int(), capped at the original's area); ties go to the least wasted area
 * (pinpoint area - effective); remaining ties keep the earlier pinpoint (strict comparisons). Note that
 * an image so thin that every fit truncates to zero pixels (e.g. 2000 x 1) has effective resolution 0
 * everywhere and gets the smallest pinpoint.
 */
export function selectBestResolution(original: Size, pinpoints: readonly Size[]): Size {
  const { height: oh, width: ow } = original;
  let best: Size | null = null;
  let maxEffective = 0;
  let minWasted = Infinity;
  for (const p of pinpoints) {
    const scale = Math.min(p.width / ow, p.height / oh);
    const downW = Math.trunc(ow * scale);
    const downH = Math.trunc(oh * scale);
    const effective = Math.min(downW * downH, ow * oh);
    const wasted = p.width * p.height - effective;
    if (effective > maxEffective || (effective === maxEffective && wasted < minWasted)) {
      maxEffective = effective;
      minWasted = wasted;
      best = p;
    }
  }
  if (!best) throw new Error('selectBestResolution needs at least one pinpoint');
  return { height: best.height, width: best.width };
}

/**
 * get_patch_output_size: the size the image is resized to so it fits `target` keeping its aspect
 * ratio. The side with the smaller scale fills the target; the other is ceil(side * scale), capped.
 * When both scales are equal the height fills (the `else` branch).
 */
export function patchOutputSize(original: Size, target: Size): Size {
  const scaleW = target.width / original.width;
  const scaleH = target.height / original.height;
  if (scaleW < scaleH) {
    return { height: Math.min(Math.ceil(original.height * scaleW), target.height), width: target.width };
  }
  return { height: target.height, width: Math.min(Math.ceil(original.width * scaleH), target.width) };
}

export interface Padding {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/** _pad_for_patching: paste, r = divmod(target - new, 2); pad (paste, paste + r) with zeros. */
export function padForPatching(resized: Size, target: Size): Padding {
  const dy = target.height - resized.height;
  const dx = target.width - resized.width;
  const top = Math.floor(dy / 2);
  const left = Math.floor(dx / 2);
  return { top, bottom: dy - top, left, right: dx - left };
}

/**
 * Python's int(round(x, 7)) for x >= 0. round(x, 7) is correctly rounded from the exact binary value,
 * so the result is floor(x) + 1 exactly when x lies within 5e-8 below the next integer. d = n + 1 - x
 * is exact here (Sterbenz), and the double written 5e-8 is the largest double below the real 5e-8, so
 * `d <= 5e-8` is the exact test (no double sits exactly on a 7-digit tie next to an integer).
 */
export function intRound7(x: number): number {
  const n = Math.floor(x);
  return n + 1 - x <= 5e-8 ? n + 1 : n;
}

/** The feature grid after unpad_image: `rows` x `cols` kept, starting at `top`, `left` of the padded grid. */
export interface UnpaddedGrid {
  readonly top: number;
  readonly left: number;
  readonly rows: number;
  readonly cols: number;
}

/**
 * unpad_image on a grid of `current` features for an image of `original` pixels: the side with spare
 * room loses `padding` = (current - int(round(original * current_other / original_other, 7))) // 2
 * rows (or columns) at each end, where the scale is computed first (as both unpad_image and
 * _get_unpadded_features do: `original * (current / original_other)`).
 */
export function unpaddedGrid(original: Size, current: Size): UnpaddedGrid {
  const originalAspect = original.width / original.height;
  const currentAspect = current.width / current.height;
  if (originalAspect > currentAspect) {
    const newHeight = intRound7(original.height * (current.width / original.width));
    const padding = Math.floor((current.height - newHeight) / 2);
    return { top: padding, left: 0, rows: current.height - 2 * padding, cols: current.width };
  }
  const newWidth = intRound7(original.width * (current.height / original.height));
  const padding = Math.floor((current.width - newWidth) / 2);
  return { top: 0, left: padding, rows: current.height, cols: current.width - 2 * padding };
}

export interface ProcessorCountOptions {
  /** image_processor.image_grid_pinpoints */
  readonly pinpoints: readonly Size[];
  /** pixel_values' tile height and width (the crop size) */
  readonly tile: Size;
  /** processor patch_size (the vision tower's patch size) */
  readonly patchSize: number;
  /** num_additional_image_tokens (1 for a CLIP tower: its CLS token) */
  readonly numAdditionalImageTokens: number;
  readonly featureSelectStrategy: 'default' | 'full';
}

/**
 * LlavaNextProcessor's image-token count for one image: _get_number_of_features (unpadded tile
 * features + one newline per unpadded row + base patches + num_additional_image_tokens), minus one
 * under the "default" strategy, as __call__ does before expanding the <image> placeholder.
 */
export function processorFeatureCount(original: Size, o: ProcessorCountOptions): number {
  const best = selectBestResolution(original, o.pinpoints);
  const scaleHeight = Math.floor(best.height / o.tile.height);
  const scaleWidth = Math.floor(best.width / o.tile.width);
  const patchesHeight = Math.floor(o.tile.height / o.patchSize);
  const patchesWidth = Math.floor(o.tile.width / o.patchSize);
  const grid = unpaddedGrid(original, {
    height: patchesHeight * scaleHeight,
    width: patchesWidth * scaleWidth,
  });
  const unpadded = grid.rows * grid.cols;
  const newlines = grid.rows;
  const base = patchesHeight * patchesWidth + o.numAdditionalImageTokens;
  const count = unpadded + newlines + base;
  return o.featureSelectStrategy === 'default' ? count - 1 : count;
}
