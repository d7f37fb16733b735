/**
 * What every image-token scheme produces for one prepared image: where each of its tokens sits in the
 * original image. Attention overlays, box metrics and contrastive crops all read it, and it must
 * follow the processor's resize/crop/pad exactly, or a map drawn on a non-square image lands on the
 * wrong pixels.
 *
 * The layout belongs to one prepared image, not to the model: a scheme's count and arrangement may
 * depend on each image's size, so prompt expansion, analyses and figures all read it from here.
 */
import { FusionError } from '../../common/errors.ts';
import type { Rect } from '../image/index.ts';

/**
 * Image tokens that tile a rectangle of the picture (a patch grid). Heatmaps and crop selection work
 * on it; tokens on no grid (a kept CLS, an image_newline) are in none.
 */
export interface TokenGrid {
  /** What the grid covers, e.g. "patches", or "base" and "tiles" for any-resolution images. */
  readonly label: string;
  readonly rows: number;
  readonly cols: number;
  /** Row-major rows × cols: the image token at each cell, null where none (cut by unpadding). */
  readonly cells: readonly (number | null)[];
  /** A cell's width ÷ height in the pixels the vision tower sees (crops keep their aspect with it). */
  readonly cellAspect: number;
}

export interface ImageTokenLayout {
  /** Image tokens this image puts in the decoder's sequence (its placeholder expands to this many). */
  readonly count: number;
  /**
   * Per image token (length count), its rectangle in original-image pixels; null for tokens with no
   * spatial extent (a kept CLS token, an image_newline) or patches that show only padding.
   */
  readonly rects: readonly (Rect | null)[];
  /** The grids the tokens form, the primary one (crops, the sample's grid) first; may be empty. */
  readonly grids: readonly TokenGrid[];
  /**
   * Tokens with no place in the image (learned queries) are drawn on these cells instead (the vision
   * tower's patch grid); `projection` says how each token's attention spreads over them.
   */
  readonly display?: DisplayCells;
  /** [count, cells] row-major, rows summing to 1; set by the scheme once the tower has run. */
  readonly projection?: Float32Array;
}

/** Where maps are drawn: one rectangle per cell and the grid the cells form. */
export interface DisplayCells {
  readonly rects: readonly (Rect | null)[];
  readonly grids: readonly TokenGrid[];
}

/** The cells a layout's maps are drawn on, measured and cropped over: the tokens' own, or `display`. */
export function displayCells(layout: ImageTokenLayout): DisplayCells {
  return layout.display ?? layout;
}

/**
 * A map over image tokens as a map over display cells: itself for tokens with a place in the image,
 * Σ_q map[q] · projection[q, ·] for query tokens (the attention the queries pass on to the patches).
 */
export function toDisplayMap(layout: ImageTokenLayout, map: ArrayLike<number>): Float64Array {
  const { projection, display } = layout;
  if (!display) return Float64Array.from(map);
  if (!projection) {
    throw new FusionError('BAD_ARGUMENT', 'query tokens need the Q-Former cross-attention to be drawn');
  }
  const cells = display.rects.length;
  const out = new Float64Array(cells);
  for (let q = 0; q < layout.count; q++) {
    const weight = map[q];
    if (weight === 0) continue;
    for (let c = 0; c < cells; c++) out[c] += weight * projection[q * cells + c];
  }
  return out;
}
