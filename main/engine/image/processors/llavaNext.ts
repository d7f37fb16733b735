/**
 * LlavaNextImageProcessor (transformers models/llava_next/image_processing_llava_next.py, the slow PIL
 * path), for LLaVA-NeXT / LLaVA-1.6 "any resolution" inputs:
 *
 *   original ─┬─ resize to fit the best pinpoint (aspect kept) ─ zero-pad, centred ─ cut crop-size tiles
 *             └─ resize to S x S (the "base", aspect not kept; S = size.shortest_edge)
 *   [base, tile(0,0), tile(0,1), ...] ─ each: CLIP's resize + center crop ─ rescale ─ normalise
 *
 * The padding is uint8 0 pasted before rescale/normalise (so it reads (0 - mean) / std), and the odd
 * pixel of the padding goes bottom/right (divmod in _pad_for_patching). The sizes come from
 * ../anyres.ts; the geometry of every patch is recorded so tokens map back to original pixels.
 */
import { FusionError } from '../../../common/errors.ts';
import { padForPatching, patchOutputSize, selectBestResolution, type Padding } from '../anyres.ts';
import { addStep, identityGeometry, type ImageGeometry } from '../geometry.ts';
import { resizeImage } from '../resample.ts';
import { toPixelValues, type Size } from '../transforms.ts';
import type { RgbImage } from '../types.ts';
import {
  applyResizeAndCrop,
  parseClipStyleFields,
  resizeAndCropSteps,
  type ClipStyleConfig,
} from './clip.ts';
import { deepFreeze, type ConfigReader } from './fields.ts';
import type { AnyresPatch, ImageProcessorConfig, ImageProcessorDefinition, ProcessedImage } from './types.ts';

export const LLAVA_NEXT_TYPE = 'LlavaNextImageProcessor';

/** LlavaNextImageProcessor.__init__'s default image_grid_pinpoints, as [height, width]. */
export const DEFAULT_GRID_PINPOINTS: readonly Size[] = [
  [336, 672],
  [672, 336],
  [672, 672],
  [1008, 336],
  [336, 1008],
].map(([height, width]) => ({ height, width }));

export interface LlavaNextConfig extends ImageProcessorConfig, Omit<ClipStyleConfig, 'doPad' | 'type'> {
  /** image_grid_pinpoints as { height, width }, in file order (order breaks ties). */
  readonly gridPinpoints: readonly Size[];
  /** Side of the square tiles (crop_size.height, divide_to_patches' patch_size). */
  readonly tileSize: number;
  /** do_pad: pads the patch dimension across a batch of images; no effect on one image. */
  readonly doPadBatch: boolean;
}

function parsePinpoints(reader: ConfigReader, tile: number): readonly Size[] {
  const key = 'image_grid_pinpoints';
  if (!reader.has(key)) return DEFAULT_GRID_PINPOINTS;
  const v = reader.raw(key);
  if (!Array.isArray(v) || v.length === 0) {
    throw reader.fail(key, 'a non-empty list of [height, width] pairs', v);
  }
  return v.map((pair: unknown, i) => {
    if (!Array.isArray(pair) || pair.length !== 2)
      throw reader.fail(`${key}[${i}]`, 'a [height, width] pair', pair);
    const size = {
      height: reader.positiveInt(`${key}[${i}][0]`, pair[0]),
      width: reader.positiveInt(`${key}[${i}][1]`, pair[1]),
    };
    if (size.height % tile !== 0 || size.width % tile !== 0) {
      // divide_to_patches would cut ragged tiles and the model's grid (pinpoint // tile) would not
      // match the number of tiles.
      throw reader.fail(`${key}[${i}]`, `a multiple of the crop size ${tile} on both sides`, pair);
    }
    return size;
  });
}

function parseLlavaNext(reader: ConfigReader, declaredType: string): LlavaNextConfig {
  if (!reader.has('crop_size')) {
    // transformers would default to 224, which divides none of its own default pinpoints (336, ...).
    throw new FusionError(
      'BAD_CONFIG',
      `${reader.source}: crop_size is required for ${LLAVA_NEXT_TYPE} (the tile size of image_grid_pinpoints)`,
    );
  }
  const fields = parseClipStyleFields(reader);
  const { height, width } = fields.cropSize;
  if (height !== width) {
    throw reader.fail('crop_size', 'square for LLaVA-NeXT tiles (height = width)', reader.raw('crop_size'));
  }
  return deepFreeze({
    type: LLAVA_NEXT_TYPE,
    declaredType,
    source: reader.source,
    ...fields,
    gridPinpoints: parsePinpoints(reader, height),
    tileSize: height,
    doPadBatch: reader.bool('do_pad', true),
  });
}

export function asLlavaNextConfig(config: ImageProcessorConfig): LlavaNextConfig {
  if (config.type !== LLAVA_NEXT_TYPE || !('gridPinpoints' in config)) {
    throw new FusionError('BAD_ARGUMENT', `expected a ${LLAVA_NEXT_TYPE} config, got ${config.type}`);
  }
  return config as LlavaNextConfig;
}

/** Where an image of a given size goes through get_image_patches (sizes only). */
export interface AnyresLayout {
  readonly imageSize: Size;
  /** The chosen pinpoint. */
  readonly bestResolution: Size;
  /** _resize_for_patching's output size, and the zero padding around it up to bestResolution. */
  readonly resized: Size;
  readonly padding: Padding;
  /** Tiles: bestResolution / tileSize. */
  readonly grid: { readonly rows: number; readonly cols: number };
  /** The base image's square side: size.shortest_edge, or min(size.height, size.width). */
  readonly baseSide: number;
  /** Geometry of each patch as the vision tower sees it: [base, tiles row by row]. */
  readonly patches: readonly AnyresPatchLayout[];
}

export interface AnyresPatchLayout {
  readonly kind: 'base' | 'tile';
  /** Tile row and column (0, 0 for the base). */
  readonly row: number;
  readonly col: number;
  readonly geometry: ImageGeometry;
}

/** The layout of an image of `height` x `width` pixels (original, after EXIF orientation). */
export function anyresLayout(config: LlavaNextConfig, height: number, width: number): AnyresLayout {
  const imageSize = { height, width };
  const best = selectBestResolution(imageSize, config.gridPinpoints);
  const resized = patchOutputSize(imageSize, best);
  const padding = padForPatching(resized, best);
  const tile = config.tileSize;
  const grid = { rows: best.height / tile, cols: best.width / tile };
  const baseSide =
    'shortestEdge' in config.size
      ? config.size.shortestEdge
      : Math.min(config.size.height, config.size.width);

  const finish = (g: ImageGeometry): ImageGeometry =>
    deepFreeze(resizeAndCropSteps(g.processedWidth, g.processedHeight, config).reduce(addStep, g));
  const original = identityGeometry(width, height);
  const base = addStep(original, {
    kind: 'resize',
    fromWidth: width,
    fromHeight: height,
    width: baseSide,
    height: baseSide,
  });
  const canvas = addStep(
    addStep(original, { kind: 'resize', fromWidth: width, fromHeight: height, ...resized }),
    { kind: 'pad', width: best.width, height: best.height, left: padding.left, top: padding.top },
  );
  const patches: AnyresPatchLayout[] = [{ kind: 'base', row: 0, col: 0, geometry: finish(base) }];
  for (let row = 0; row < grid.rows; row++) {
    for (let col = 0; col < grid.cols; col++) {
      const cut = addStep(canvas, {
        kind: 'crop',
        left: col * tile,
        top: row * tile,
        width: tile,
        height: tile,
      });
      patches.push({ kind: 'tile', row, col, geometry: finish(cut) });
    }
  }
  return deepFreeze({ imageSize, bestResolution: best, resized, padding, grid, baseSide, patches });
}

/** A tile-sized window of `img` starting at (left, top); the window lies inside the image. */
function cutTile(img: RgbImage, left: number, top: number, size: number): RgbImage {
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const from = ((top + y) * img.width + left) * 3;
    out.set(img.data.subarray(from, from + size * 3), y * size * 3);
  }
  return { width: size, height: size, data: out };
}

/** _pad_for_patching: the resized image on a zero canvas of the best resolution. */
function padWithZeros(img: RgbImage, canvas: Size, padding: Padding): RgbImage {
  const out = new Uint8Array(canvas.width * canvas.height * 3);
  for (let y = 0; y < img.height; y++) {
    const to = ((y + padding.top) * canvas.width + padding.left) * 3;
    out.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), to);
  }
  return { width: canvas.width, height: canvas.height, data: out };
}

function preprocessLlavaNext(img: RgbImage, config: LlavaNextConfig): ProcessedImage {
  const layout = anyresLayout(config, img.height, img.width);
  const { resized, bestResolution, padding } = layout;
  const canvas = padWithZeros(
    resizeImage(img, resized.width, resized.height, config.resample),
    bestResolution,
    padding,
  );
  const patches: AnyresPatch[] = layout.patches.map((p) => {
    const input =
      p.kind === 'base'
        ? resizeImage(img, layout.baseSide, layout.baseSide, config.resample)
        : cutTile(canvas, p.col * config.tileSize, p.row * config.tileSize, config.tileSize);
    const { image } = applyResizeAndCrop(input, identityGeometry(input.width, input.height), config);
    if (image.width !== p.geometry.processedWidth || image.height !== p.geometry.processedHeight) {
      throw new Error('LLaVA-NeXT patch size differs from its layout');
    }
    return {
      ...p,
      pixelValues: toPixelValues(image, config),
      channels: 3,
      height: image.height,
      width: image.width,
    };
  });
  const base = patches[0];
  return {
    pixelValues: base.pixelValues,
    channels: 3,
    height: base.height,
    width: base.width,
    geometry: base.geometry,
    anyres: {
      imageSize: layout.imageSize,
      bestResolution,
      grid: layout.grid,
      patches,
    },
  };
}

export const llavaNextImageProcessor: ImageProcessorDefinition = {
  type: LLAVA_NEXT_TYPE,
  aliases: ['LlavaNextImageProcessorFast'],
  processorClasses: ['LlavaNextProcessor'],
  parse: parseLlavaNext,
  preprocess(img, config, options) {
    if (options.padToSquare === 'mean-color') {
      throw new FusionError(
        'BAD_ARGUMENT',
        `padToSquare 'mean-color' is LLaVA-1.5's expand2square; ${LLAVA_NEXT_TYPE} pads each resized image itself`,
      );
    }
    return preprocessLlavaNext(img, asLlavaNextConfig(config));
  },
};
