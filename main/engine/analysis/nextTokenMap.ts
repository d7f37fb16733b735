/**
 * LLaVA-NeXT's image tokens, in the order LlavaNextModel.pack_image_features feeds them to the
 * language model, each with the original-image pixels it covers:
 *
 *   base: side x side patch features of the S x S base image, row by row
 *   tiles: the tiles' features laid on one (rows * side) x (cols * side) grid
 *          (view(rows, cols, side, side) -> permute -> flatten), cut by unpad_image to the original
 *          aspect ratio, then row by row with one image_newline token after each kept row
 *
 * (side = tile size // patch size.) The count equals transformers' for every image size (checked
 * against LlavaNextProcessor's formula, processorFeatureCount, and an independent Python restatement
 * in the tests). Rectangles come from each patch's recorded geometry, so they follow the resize,
 * the centred zero padding and the tile cut exactly; unpad_image works on whole feature rows, so a
 * kept edge row can include some padding (its rectangle is clipped to the image) and up to a row of
 * image pixels at each padded edge can be left without a tile token.
 */
import { FusionError } from '../../common/errors.ts';
import {
  anyresLayout,
  processedRectToOriginal,
  unpaddedGrid,
  type AnyresLayout,
  type LlavaNextConfig,
  type Rect,
  type Size,
  type UnpaddedGrid,
} from '../image/index.ts';
import type { ImageTokenLayout, TokenGrid } from '../imageTokens/layout.ts';

export interface NextTokenOptions {
  /** vision_config.patch_size */
  readonly patchSize: number;
  /** vision_feature_select_strategy: "default" drops the tower's first token, "full" keeps all. */
  readonly featureSelectStrategy: 'default' | 'full';
  /** Tokens the vision tower emits before its patch grid: 1 for CLIP (CLS), 0 for SigLIP. */
  readonly clsTokens: number;
  /** Whether an image_newline token closes each row (LlavaNextModel always has one). */
  readonly imageNewline: boolean;
  /** config.json's image_grid_pinpoints and vision_config.image_size, checked against the processor. */
  readonly modelPinpoints?: readonly Size[];
  readonly visionImageSize?: number;
}

export interface NextImageToken {
  readonly kind: 'base' | 'tile' | 'newline';
  /** Index into [base, tile(0,0), tile(0,1), ...] (ProcessedImage.anyres.patches); null for newlines. */
  readonly patch: number | null;
  /**
   * Feature row and column: in the base's side x side grid for base tokens, in the padded
   * (rows * side) x (cols * side) tile grid for tile tokens; a newline has the row it closes, col null.
   */
  readonly row: number;
  readonly col: number | null;
  /** Original-image pixels the token covers (clipped to the image); null for newlines and padding. */
  readonly rect: Rect | null;
}

export interface NextTokenMap {
  readonly tokens: readonly NextImageToken[];
  readonly layout: AnyresLayout;
  /** Features per tile side. */
  readonly side: number;
  /** The padded tile-feature grid and the part unpad_image keeps. */
  readonly featureGrid: { readonly rows: number; readonly cols: number };
  readonly unpadded: UnpaddedGrid;
}

function checkOptions(processor: LlavaNextConfig, o: NextTokenOptions): number {
  const tile = processor.tileSize;
  if (!Number.isSafeInteger(o.patchSize) || o.patchSize < 1 || o.patchSize > tile) {
    throw new FusionError(
      'BAD_CONFIG',
      `patch_size must be an integer from 1 to the tile size ${tile}, got ${o.patchSize}`,
    );
  }
  if (o.visionImageSize !== undefined && o.visionImageSize !== tile) {
    throw new FusionError(
      'BAD_CONFIG',
      `vision_config.image_size ${o.visionImageSize} differs from the processor's crop_size ${tile}: ` +
        'the model would lay the tiles on a different grid than the processor cut',
    );
  }
  const same = (a: readonly Size[], b: readonly Size[]): boolean =>
    a.length === b.length && a.every((p, i) => p.height === b[i].height && p.width === b[i].width);
  if (o.modelPinpoints && !same(o.modelPinpoints, processor.gridPinpoints)) {
    const show = (ps: readonly Size[]): string => JSON.stringify(ps.map((p) => [p.height, p.width]));
    throw new FusionError(
      'BAD_CONFIG',
      `config.json image_grid_pinpoints ${show(o.modelPinpoints)} differ from ${processor.source}'s ` +
        `${show(processor.gridPinpoints)}`,
    );
  }
  const side = Math.floor(tile / o.patchSize);
  const perTile = side * side + o.clsTokens - (o.featureSelectStrategy === 'default' ? 1 : 0);
  if (perTile !== side * side) {
    // pack_image_features views each tile's features as side x side; transformers fails (or misreads
    // the features) otherwise, e.g. "full" on a CLIP tower keeps CLS and gives side^2 + 1.
    throw new FusionError(
      'BAD_CONFIG',
      `vision_feature_select_strategy "${o.featureSelectStrategy}" with ${o.clsTokens} leading token(s) gives ` +
        `${perTile} features per tile, but LLaVA-NeXT lays each tile on a ${side} x ${side} grid ` +
        '(use "default" with a CLS tower, "full" without one)',
    );
  }
  return side;
}

/** The image tokens LLaVA-NeXT produces for an image of `height` x `width` original pixels. */
export function nextImageTokenMap(
  processor: LlavaNextConfig,
  options: NextTokenOptions,
  height: number,
  width: number,
): NextTokenMap {
  const side = checkOptions(processor, options);
  const layout = anyresLayout(processor, height, width);
  const ps = options.patchSize;
  const rectIn = (patch: number, r: number, c: number): Rect | null =>
    processedRectToOriginal(layout.patches[patch].geometry, { x: c * ps, y: r * ps, width: ps, height: ps });

  const tokens: NextImageToken[] = [];
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++)
      tokens.push({ kind: 'base', patch: 0, row: r, col: c, rect: rectIn(0, r, c) });
  }
  const featureGrid = { rows: layout.grid.rows * side, cols: layout.grid.cols * side };
  const unpadded = unpaddedGrid(layout.imageSize, { height: featureGrid.rows, width: featureGrid.cols });
  for (let row = unpadded.top; row < unpadded.top + unpadded.rows; row++) {
    const tileRow = Math.floor(row / side);
    for (let col = unpadded.left; col < unpadded.left + unpadded.cols; col++) {
      const tileCol = Math.floor(col / side);
      const patch = 1 + tileRow * layout.grid.cols + tileCol;
      tokens.push({ kind: 'tile', patch, row, col, rect: rectIn(patch, row % side, col % side) });
    }
    if (options.imageNewline) tokens.push({ kind: 'newline', patch: null, row, col: null, rect: null });
  }
  return { tokens, layout, side, featureGrid, unpadded };
}

/**
 * The map as the engine's per-image layout: every token's rectangle (newlines null), the kept tile
 * grid first (the finest view of the image, so crops are chosen on it), then the base grid. Patches
 * are square in the tower's pixels, so both grids have cellAspect 1.
 */
export function nextTokenLayout(map: NextTokenMap): ImageTokenLayout {
  const { tokens, side, unpadded } = map;
  const tiles = new Array<number | null>(unpadded.rows * unpadded.cols).fill(null);
  const base = new Array<number | null>(side * side).fill(null);
  tokens.forEach((t, i) => {
    if (t.kind === 'base' && t.col !== null) base[t.row * side + t.col] = i;
    if (t.kind === 'tile' && t.col !== null) {
      tiles[(t.row - unpadded.top) * unpadded.cols + (t.col - unpadded.left)] = i;
    }
  });
  const grid = (label: string, rows: number, cols: number, cells: (number | null)[]): TokenGrid => ({
    label,
    rows,
    cols,
    cells,
    cellAspect: 1,
  });
  return {
    count: tokens.length,
    rects: tokens.map((t) => t.rect),
    grids: [grid('tiles', unpadded.rows, unpadded.cols, tiles), grid('base', side, side, base)],
  };
}

/**
 * For each token of the map, its row in the any-resolution vision graph's table: the P patches'
 * side × side features flattened patch by patch, then the image_newline row (index P·side²). The
 * graph gathers these rows, so the pack order has one source of truth: this map.
 */
export function nextFeatureIndex(map: NextTokenMap): BigInt64Array {
  const { side, tokens } = map;
  const perPatch = side * side;
  const newline = map.layout.patches.length * perPatch;
  return BigInt64Array.from(tokens, (t) => {
    if (t.kind === 'newline' || t.patch === null || t.col === null) return BigInt(newline);
    return BigInt(t.patch * perPatch + (t.row % side) * side + (t.col % side));
  });
}
