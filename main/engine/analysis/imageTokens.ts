/**
 * Where each image token sits in the original image. Attention overlays, box metrics and contrastive
 * crops all need it, and it must follow the processor's resize/crop/pad exactly, or a map drawn on a
 * non-square image lands on the wrong pixels.
 *
 * The layout belongs to one prepared image, not to the model: LLaVA-NeXT's count and arrangement
 * depend on each image's size, so prompt expansion, analyses and figures all read it from here.
 */
import type {
  AnyresTokens,
  FixedGridTokens,
  ImageTokenScheme,
  MergedPatchTokens,
  ModelSpec,
} from '../../../native-models/architectures/types.ts';
import { FusionError } from '../../common/errors.ts';
import {
  asLlavaNextConfig,
  asQwen2VlConfig,
  processedRectToOriginal,
  type ImageProcessorConfig,
  type ProcessedImage,
  type Rect,
} from '../image/index.ts';
import { nextImageTokenMap, nextTokenLayout, type NextTokenMap } from './nextTokenMap.ts';

/**
 * Image tokens that tile a rectangle of the picture (a patch grid). Heatmaps and crop selection work
 * on it; tokens on no grid (a kept CLS, LLaVA-NeXT's image_newline) are in none.
 */
export interface TokenGrid {
  /** What the grid covers, e.g. "patches" (LLaVA-1.5), "base" or "tiles" (LLaVA-NeXT). */
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
   * Tokens with no place in the image (InstructBLIP's queries) are drawn on these cells instead (the
   * vision tower's patch grid); `projection` says how each token's attention spreads over them.
   */
  readonly display?: DisplayCells;
  /** [count, cells] row-major, rows summing to 1; set once the Q-Former has run (see queryTokens.ts). */
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

/** One layout builder per ImageTokenScheme kind (not per architecture). */
const LAYOUTS: {
  readonly [K in ImageTokenScheme['kind']]: (
    scheme: Extract<ImageTokenScheme, { kind: K }>,
    image: ProcessedImage,
    processor: ImageProcessorConfig | undefined,
  ) => ImageTokenLayout;
} = {
  'fixed-grid': (scheme, image) => fixedGridLayout(scheme, image),
  anyres: (scheme, image, processor) => nextTokenLayout(anyresTokenMap(scheme, image, processor)),
  'merged-patches': (scheme, image, processor) => mergedPatchLayout(scheme, image, processor),
  // Query tokens cover no pixels; maps are drawn on the patch grid through the Q-Former's
  // cross-attention (the projection arrives with the vision pass, queryTokens.ts).
  queries: (scheme, image) => ({
    count: scheme.count,
    rects: new Array<null>(scheme.count).fill(null),
    grids: [],
    display: fixedGridLayout({ rows: scheme.rows, cols: scheme.cols, leadingTokens: 0 }, image),
  }),
};

/**
 * The image-token layout `spec`'s family gives the prepared `image`; any-resolution schemes also need
 * the processor config `image` came from (its pinpoints and tile size lay out the tiles).
 */
export function imageTokenLayout(
  spec: Pick<ModelSpec, 'imageTokens'>,
  image: ProcessedImage,
  processor?: ImageProcessorConfig,
): ImageTokenLayout {
  const scheme = spec.imageTokens;
  const build = LAYOUTS[scheme.kind] as (
    s: ImageTokenScheme,
    i: ProcessedImage,
    p: ImageProcessorConfig | undefined,
  ) => ImageTokenLayout;
  if (!build)
    throw new FusionError('BAD_CONFIG', `no image-token layout for scheme ${JSON.stringify(scheme.kind)}`);
  return build(scheme, image, processor);
}

/**
 * LLaVA-NeXT's token map for a prepared image: which patch feature (or newline) each image token is.
 * The model's pinpoints and tile size are checked against the processor's here.
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

/**
 * LLaVA-1.5's layout: `leadingTokens` without extent, then rows × cols equal cells of the processed
 * image, row by row, each mapped back through the processor's geometry.
 */
export function fixedGridLayout(
  grid: Pick<FixedGridTokens, 'rows' | 'cols' | 'leadingTokens'>,
  image: ProcessedImage,
): ImageTokenLayout {
  const { rows, cols, leadingTokens } = grid;
  const patchWidth = image.width / cols;
  const patchHeight = image.height / rows;
  const rects: (Rect | null)[] = new Array(leadingTokens).fill(null);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const processed = { x: c * patchWidth, y: r * patchHeight, width: patchWidth, height: patchHeight };
      rects.push(processedRectToOriginal(image.geometry, processed));
    }
  }
  const cells = Array.from({ length: rows * cols }, (_, i) => leadingTokens + i);
  return {
    count: rects.length,
    rects,
    grids: [{ label: 'patches', rows, cols, cells, cellAspect: patchWidth / patchHeight }],
  };
}

/**
 * Qwen2-VL's layout: the processor resized the image to h × w patches; each merge × merge block is one
 * token, raster order, so the grid is (h / merge) × (w / merge) cells of the resized image.
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

/** Box as [x0, y0, x1, y1] in original-image pixels (the dataset convention). */
export type Box = readonly [number, number, number, number];

function overlapArea(rect: Rect, box: Box): number {
  const w = Math.min(rect.x + rect.width, box[2]) - Math.max(rect.x, box[0]);
  const h = Math.min(rect.y + rect.height, box[3]) - Math.max(rect.y, box[1]);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Attention mass inside the union of `boxes`: each token contributes its attention times the fraction
 * of its rectangle the boxes cover (boxes assumed disjoint, as a dataset's objects are). Attention is
 * renormalised over the image tokens first, as the paper's A^(l) is.
 */
export function attentionMassInBoxes(
  attention: ArrayLike<number>,
  rects: readonly (Rect | null)[],
  boxes: readonly Box[],
): number {
  let total = 0;
  for (let i = 0; i < attention.length; i++) total += attention[i];
  if (total <= 0) return 0;
  let inside = 0;
  rects.forEach((rect, i) => {
    if (!rect) return;
    const covered = boxes.reduce((sum, box) => sum + overlapArea(rect, box), 0);
    inside += (attention[i] / total) * Math.min(1, covered / (rect.width * rect.height));
  });
  return inside;
}
