/**
 * LLaVA-NeXT's any-resolution tiling, read off the model summary (`imageGridPinpoints`, `imageSize`,
 * `patchSize`) for the model view: which tile grids an image can be cut into and how many image
 * tokens that can make. The count per image depends on its aspect ratio (transformers'
 * select_best_resolution and unpad_image), so the view states the range, not one number.
 */
export interface TileGrid {
  /** The pinpoint in pixels ([height, width] in the config). */
  readonly height: number;
  readonly width: number;
  /** Tiles of the crop size, down and across. */
  readonly rows: number;
  readonly cols: number;
}

export interface ImageTiling {
  /** Crop (tile) size in pixels: the vision tower's image size. */
  readonly tileSize: number;
  readonly grids: readonly TileGrid[];
  /** Base features, then tile features with an image_newline after each row, before any unpadding. */
  readonly maxTokens: number;
}

type Summary = Readonly<Record<string, string | number | boolean>>;

/** null when the summary has no pinpoints (a fixed-grid model) or they cannot be read. */
export function imageTiling(summary: Summary): ImageTiling | null {
  const { imageGridPinpoints: pinpoints, imageSize: tileSize, patchSize } = summary;
  if (typeof pinpoints !== 'string' || typeof tileSize !== 'number' || typeof patchSize !== 'number')
    return null;
  const grids: TileGrid[] = [];
  for (const text of pinpoints.split(',')) {
    const match = /^\s*(\d+)x(\d+)\s*$/.exec(text);
    if (!match) return null;
    const [height, width] = [Number(match[1]), Number(match[2])];
    if (height % tileSize || width % tileSize) return null;
    grids.push({ height, width, rows: height / tileSize, cols: width / tileSize });
  }
  const side = tileSize / patchSize;
  const tokens = (g: TileGrid) => side * side + g.rows * side * (g.cols * side + 1);
  return { tileSize, grids, maxTokens: Math.max(...grids.map(tokens)) };
}
