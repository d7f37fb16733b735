/**
 * Checks an attention overlay request and resolves it to what both renderers draw: the image plus the
 * token cells' colours, box outlines and noise cells resolved by main/common/charts/overlay.ts (which
 * the app's SVG overlays share). No interpolation: each token's rectangle is one flat colour.
 */
import {
  OUTLINE,
  resolveOverlay,
  type OverlayCell,
  type OverlayMapInput,
} from '../../../common/charts/overlay.ts';
import type { ColormapName, ValueRange } from '../../../common/charts/colormaps.ts';
import { FusionError } from '../../../common/errors.ts';
import type { Box } from '../../analysis/imageTokens.ts';
import type { Rect, RgbImage } from '../../image/index.ts';

export { OUTLINE };
export type { OverlayCell };

export interface OverlayInput extends OverlayMapInput {
  /** The original image, 8-bit RGB interleaved. */
  image: RgbImage;
  /** Weight of the colormap colour over the image, in [0, 1]. */
  opacity: number;
  /** Output pixels per image pixel (integer 1..8). Default 1. */
  scale?: number;
}

export interface PreparedOverlay {
  image: RgbImage;
  scale: number;
  opacity: number;
  colormap: ColormapName;
  range: ValueRange;
  cells: OverlayCell[];
  boxes: Box[];
  noise: Rect[];
}

function bad(message: string): never {
  throw new FusionError('BAD_ARGUMENT', message);
}

export function checkImage(image: RgbImage): void {
  if (typeof image !== 'object' || image === null) bad('overlay image must be an object');
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    bad(`overlay image size must be positive whole pixels, got ${width}x${height}`);
  }
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    bad(
      `overlay image data must be ${width}x${height}x3 = ${width * height * 3} RGB bytes, got ${
        data instanceof Uint8Array ? data.length : typeof data
      }`,
    );
  }
}

/** Validation and colour resolution for a map drawn over tokenRects, shared with multi-panel figures. */
export function prepareOverlay(input: OverlayInput): PreparedOverlay {
  if (typeof input !== 'object' || input === null) bad('overlay input must be an object');
  checkImage(input.image);
  if (typeof input.opacity !== 'number' || !(input.opacity >= 0 && input.opacity <= 1)) {
    bad(`overlay opacity must lie in [0, 1], got ${input.opacity}`);
  }
  const scale = input.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1 || scale > 8)
    bad(`overlay scale must be an integer 1..8, got ${scale}`);
  return { image: input.image, scale, opacity: input.opacity, ...resolveOverlay(input) };
}
