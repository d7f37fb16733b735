/**
 * Qwen2VLImageProcessor (transformers models/qwen2_vl/image_processing_qwen2_vl.py, the slow PIL
 * path), used by Qwen2-VL and Qwen2.5-VL:
 *
 *   original ─ smart_resize (sides multiples of patch × merge, pixels within [min, max]) ─ PIL resize
 *            ─ rescale ─ normalise ─ repeat temporal_patch_size times ─ cut into patches
 *
 * The patches are ordered (t, h / merge, w / merge, merge, merge) so every merge × merge block that
 * the PatchMerger turns into one token is consecutive, and each patch is flattened
 * (channel, temporal, row, column), exactly as the reshape/transpose of `_preprocess`.
 * ProcessedImage's pixelValues/height/width are the resized image; `patches` is pixel_values.
 */
import { FusionError } from '../../../common/errors.ts';
import { addStep, identityGeometry } from '../geometry.ts';
import { resizeImage } from '../resample.ts';
import { toPixelValues, type Size } from '../transforms.ts';
import type { RgbImage } from '../types.ts';
import { parsePixelPipelineFields, type PixelPipelineFields } from './clip.ts';
import { deepFreeze, type ConfigReader } from './fields.ts';
import type {
  FlattenedPatches,
  ImageProcessorConfig,
  ImageProcessorDefinition,
  ProcessedImage,
} from './types.ts';

export const QWEN2_VL_TYPE = 'Qwen2VLImageProcessor';

/** Qwen2VLImageProcessor.__init__'s defaults: 56 × 56 and 28 × 28 × 1280 pixels. */
export const QWEN2_VL_MIN_PIXELS = 56 * 56;
export const QWEN2_VL_MAX_PIXELS = 28 * 28 * 1280;

/** smart_resize refuses images whose long side is more than this many times the short side. */
export const MAX_ASPECT_RATIO = 200;

export interface Qwen2VlConfig extends ImageProcessorConfig, PixelPipelineFields {
  /** Pixel budget of the resized image (size.shortest_edge / size.longest_edge, or min/max_pixels). */
  readonly minPixels: number;
  readonly maxPixels: number;
  readonly patchSize: number;
  readonly temporalPatchSize: number;
  readonly mergeSize: number;
}

/** Python's round() on a non-negative float: halves go to the even neighbour (round(2.5) = 2). */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * transformers' smart_resize: the size `height` × `width` is resized to. Both sides are multiples of
 * `factor` (patch × merge) near the original; if that has more than maxPixels pixels the sides shrink
 * by sqrt(h·w / max) and round down, if fewer than minPixels they grow by sqrt(min / (h·w)) and round
 * up. The arithmetic is Python's float arithmetic, operation for operation (IEEE doubles, banker's
 * round), so sizes agree at every rounding boundary.
 *
 * Images too small for a patch are not refused: current transformers grows them to the pixel budget
 * (older releases raised for sides under 10, later under `factor`), and the shrinking branch never
 * goes below one factor per side.
 */
export function smartResize(
  height: number,
  width: number,
  factor: number,
  minPixels: number,
  maxPixels: number,
): Size {
  for (const [name, v] of [
    ['height', height],
    ['width', width],
    ['factor', factor],
    ['minPixels', minPixels],
    ['maxPixels', maxPixels],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new FusionError('BAD_ARGUMENT', `smartResize: ${name} must be a positive integer, got ${v}`);
    }
  }
  if (minPixels > maxPixels) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `smartResize: minPixels ${minPixels} is larger than maxPixels ${maxPixels}`,
    );
  }
  const ratio = Math.max(height, width) / Math.min(height, width);
  if (ratio > MAX_ASPECT_RATIO) {
    throw new FusionError(
      'BAD_IMAGE',
      `a ${width}×${height} image has aspect ratio ${ratio.toFixed(1)}; Qwen2-VL's smart_resize refuses more than ${MAX_ASPECT_RATIO}`,
    );
  }
  let h = roundHalfEven(height / factor) * factor;
  let w = roundHalfEven(width / factor) * factor;
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: h, width: w };
}

/**
 * The pixel budget. transformers' __init__: `size` must hold shortest_edge and longest_edge (read as
 * min and max pixels, not edges); top-level min_pixels / max_pixels override it. Releases before the
 * `size` form saved size as {min_pixels, max_pixels} next to the top-level keys; that is read too.
 */
function parsePixelBudget(reader: ConfigReader): { minPixels: number; maxPixels: number } {
  let minPixels = QWEN2_VL_MIN_PIXELS;
  let maxPixels = QWEN2_VL_MAX_PIXELS;
  if (reader.has('size')) {
    const size = reader.raw('size');
    const keys =
      typeof size === 'object' && !Array.isArray(size)
        ? Object.keys(size as object)
            .sort()
            .join(',')
        : '';
    const obj = size as Record<string, unknown>;
    if (keys === 'longest_edge,shortest_edge') {
      minPixels = reader.positiveInt('size.shortest_edge', obj.shortest_edge);
      maxPixels = reader.positiveInt('size.longest_edge', obj.longest_edge);
    } else if (keys === 'max_pixels,min_pixels') {
      minPixels = reader.positiveInt('size.min_pixels', obj.min_pixels);
      maxPixels = reader.positiveInt('size.max_pixels', obj.max_pixels);
    } else {
      throw reader.fail(
        'size',
        'an object with "shortest_edge" and "longest_edge" (the min and max pixel counts)',
        size,
      );
    }
  }
  if (reader.has('min_pixels')) minPixels = reader.positiveInt('min_pixels', reader.raw('min_pixels'));
  if (reader.has('max_pixels')) maxPixels = reader.positiveInt('max_pixels', reader.raw('max_pixels'));
  if (minPixels > maxPixels) {
    throw reader.fail('min_pixels', `at most max_pixels (${maxPixels})`, minPixels);
  }
  return { minPixels, maxPixels };
}

function parseQwen2Vl(reader: ConfigReader, declaredType: string): Qwen2VlConfig {
  const int = (key: string, fallback: number): number =>
    reader.has(key) ? reader.positiveInt(key, reader.raw(key)) : fallback;
  const patchSize = int('patch_size', 14);
  const mergeSize = int('merge_size', 2);
  const budget = parsePixelBudget(reader);
  const factor = patchSize * mergeSize;
  if (budget.maxPixels < factor * factor) {
    // smart_resize never goes below factor × factor, so no image could stay within the budget.
    throw reader.fail(
      'max_pixels',
      `at least (patch_size × merge_size)² = ${factor * factor}, one merged token`,
      budget.maxPixels,
    );
  }
  return deepFreeze({
    type: QWEN2_VL_TYPE,
    declaredType,
    source: reader.source,
    ...parsePixelPipelineFields(reader),
    ...budget,
    patchSize,
    temporalPatchSize: int('temporal_patch_size', 2),
    mergeSize,
  });
}

export function asQwen2VlConfig(config: ImageProcessorConfig): Qwen2VlConfig {
  if (config.type !== QWEN2_VL_TYPE || !('mergeSize' in config)) {
    throw new FusionError('BAD_ARGUMENT', `expected a ${QWEN2_VL_TYPE} config, got ${config.type}`);
  }
  return config as Qwen2VlConfig;
}

/** The size an image of `height` × `width` pixels is resized to (its own size when do_resize is off). */
export function qwen2VlResizedSize(config: Qwen2VlConfig, height: number, width: number): Size {
  const factor = config.patchSize * config.mergeSize;
  if (config.doResize) return smartResize(height, width, factor, config.minPixels, config.maxPixels);
  if (height % factor !== 0 || width % factor !== 0) {
    // transformers' reshape into patches would fail.
    throw new FusionError(
      'BAD_CONFIG',
      `${config.source}: do_resize is false, so the image's sides must be multiples of patch_size × merge_size = ${factor}, but it is ${width}×${height}`,
    );
  }
  return { height, width };
}

/**
 * The patch flattening of `_preprocess` for a still image: channels-first `pixels` (3, height, width)
 * repeated temporalPatchSize times, cut into patchSize squares, rows in (h / merge, w / merge, merge,
 * merge) order, each row (channel, temporal, patch row, patch column).
 */
export function flattenPatches(
  pixels: Float32Array,
  height: number,
  width: number,
  patchSize: number,
  temporalPatchSize: number,
  mergeSize: number,
): FlattenedPatches {
  const p = patchSize;
  const factor = p * mergeSize;
  if (height % factor !== 0 || width % factor !== 0 || pixels.length !== 3 * height * width) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `flattenPatches: a 3×${height}×${width} image (${pixels.length} values) does not split into ${factor}-pixel merged patches`,
    );
  }
  const h = height / p;
  const w = width / p;
  const patchWidth = 3 * temporalPatchSize * p * p;
  const values = new Float32Array(h * w * patchWidth);
  const plane = height * width;
  let o = 0;
  for (let bh = 0; bh < h / mergeSize; bh++) {
    for (let bw = 0; bw < w / mergeSize; bw++) {
      for (let mh = 0; mh < mergeSize; mh++) {
        for (let mw = 0; mw < mergeSize; mw++) {
          const y0 = (bh * mergeSize + mh) * p;
          const x0 = (bw * mergeSize + mw) * p;
          for (let c = 0; c < 3; c++) {
            // Every temporal slot holds the same frame: a still image is repeated.
            for (let t = 0; t < temporalPatchSize; t++) {
              for (let y = 0; y < p; y++) {
                const from = c * plane + (y0 + y) * width + x0;
                values.set(pixels.subarray(from, from + p), o);
                o += p;
              }
            }
          }
        }
      }
    }
  }
  return { t: 1, h, w, patchWidth, values };
}

function preprocessQwen2Vl(img: RgbImage, config: Qwen2VlConfig): ProcessedImage {
  const target = qwen2VlResizedSize(config, img.height, img.width);
  let geometry = identityGeometry(img.width, img.height);
  let image = img;
  if (config.doResize) {
    image = resizeImage(img, target.width, target.height, config.resample);
    geometry = addStep(geometry, {
      kind: 'resize',
      fromWidth: img.width,
      fromHeight: img.height,
      width: target.width,
      height: target.height,
    });
  }
  const pixelValues = toPixelValues(image, config);
  return {
    pixelValues,
    channels: 3,
    height: image.height,
    width: image.width,
    geometry: deepFreeze(geometry),
    patches: flattenPatches(
      pixelValues,
      image.height,
      image.width,
      config.patchSize,
      config.temporalPatchSize,
      config.mergeSize,
    ),
  };
}

export const qwen2VlImageProcessor: ImageProcessorDefinition = {
  type: QWEN2_VL_TYPE,
  aliases: ['Qwen2VLImageProcessorFast'],
  // Qwen2.5-VL ships its own processor class but the same image processor.
  processorClasses: ['Qwen2VLProcessor', 'Qwen2_5_VLProcessor'],
  parse: parseQwen2Vl,
  preprocess(img, config, options) {
    if (options.padToSquare === 'mean-color') {
      throw new FusionError(
        'BAD_ARGUMENT',
        `padToSquare 'mean-color' is LLaVA-1.5's expand2square; ${QWEN2_VL_TYPE} keeps the aspect ratio`,
      );
    }
    return preprocessQwen2Vl(img, asQwen2VlConfig(config));
  },
};
