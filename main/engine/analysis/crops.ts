/**
 * Crops for the two-pass refinements (contrastive `crop`, ViCrop): a rectangle of image-token grid
 * cells becomes a pixel rectangle of the original image (the union of those tokens' rectangles, so
 * resize, centre crop and padding are all accounted for), and that region is cut out.
 */
import { FusionError } from '../../common/errors.ts';
import type { Rect, RgbImage } from '../image/index.ts';
import type { TokenGrid } from './imageTokens.ts';

export interface GridRect {
  readonly row0: number;
  readonly col0: number;
  readonly row1: number;
  readonly col1: number;
}

/**
 * Pixel rectangle (integer, outward-rounded, inside the image) covered by the cells `cells` of `grid`,
 * a grid of the image's token layout; `tokenRects` are that layout's rectangles.
 */
export function gridRectToPixels(
  grid: TokenGrid,
  tokenRects: readonly (Rect | null)[],
  cells: GridRect,
  image: { width: number; height: number },
): Rect {
  const { cols } = grid;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let r = cells.row0; r < cells.row1; r++) {
    for (let c = cells.col0; c < cells.col1; c++) {
      const token = grid.cells[r * cols + c];
      const rect = token === null || token === undefined ? null : tokenRects[token];
      if (!rect) continue;
      x0 = Math.min(x0, rect.x);
      y0 = Math.min(y0, rect.y);
      x1 = Math.max(x1, rect.x + rect.width);
      y1 = Math.max(y1, rect.y + rect.height);
    }
  }
  if (!Number.isFinite(x0))
    throw new FusionError('BAD_ARGUMENT', 'the selected grid cells show no part of the image (padding only)');
  const left = Math.max(0, Math.floor(x0));
  const top = Math.max(0, Math.floor(y0));
  return {
    x: left,
    y: top,
    width: Math.min(image.width, Math.ceil(x1)) - left,
    height: Math.min(image.height, Math.ceil(y1)) - top,
  };
}

/** The pixels of `rect` (integer, inside the image) as a new image. */
export function cropRgb(image: RgbImage, rect: Rect): RgbImage {
  const { x, y, width, height } = rect;
  if (
    ![x, y, width, height].every(Number.isInteger) ||
    width < 1 ||
    height < 1 ||
    x < 0 ||
    y < 0 ||
    x + width > image.width ||
    y + height > image.height
  ) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `crop ${JSON.stringify(rect)} is not an integer rectangle inside the ${image.width}×${image.height} image`,
    );
  }
  const data = new Uint8Array(width * height * 3);
  for (let row = 0; row < height; row++) {
    const from = ((y + row) * image.width + x) * 3;
    data.set(image.data.subarray(from, from + width * 3), row * width * 3);
  }
  return { width, height, data };
}
