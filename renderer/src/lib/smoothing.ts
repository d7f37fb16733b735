/**
 * The smoothed look of an attention map: token values painted onto a small raster over the image
 * (a raster pixel takes the token whose rectangle holds its centre, later tokens winning, as in the
 * report's overlay), blurred with a Gaussian whose width is given in token cells, then coloured.
 * The browser draws the result as an <image> scaled over the photo, so bilinear upsampling finishes
 * the job. Pure: the canvas step lives in the component.
 */
import type { Rect } from '../../../main/common/analysis.ts';
import { colorFor, type ColormapName, type ValueRange } from '../../../main/common/charts/colormaps.ts';

export interface ValueRaster {
  readonly width: number;
  readonly height: number;
  /** Row-major; NaN where no token covers the pixel (left transparent). */
  readonly values: Float32Array;
  /** Image pixels per raster pixel, horizontally and vertically. */
  readonly sx: number;
  readonly sy: number;
}

/** First raster index whose pixel centre lies at or after image coordinate v. */
function edge(v: number, step: number, limit: number): number {
  return Math.min(limit, Math.max(0, Math.ceil(v / step - 0.5)));
}

/** Token values on a raster of at most `maxSide` pixels along the image's longer side. */
export function rasteriseTokens(
  map: readonly number[],
  tokenRects: readonly (Rect | null)[],
  image: { readonly width: number; readonly height: number },
  maxSide = 128,
): ValueRaster {
  if (map.length !== tokenRects.length) {
    throw new Error(`map has ${map.length} values but tokenRects has ${tokenRects.length}`);
  }
  const k = Math.min(1, maxSide / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * k));
  const height = Math.max(1, Math.round(image.height * k));
  const sx = image.width / width;
  const sy = image.height / height;
  const values = new Float32Array(width * height).fill(NaN);
  tokenRects.forEach((rect, token) => {
    const v = map[token];
    if (!rect || !Number.isFinite(v)) return;
    const x0 = edge(rect.x, sx, width);
    const x1 = edge(rect.x + rect.width, sx, width);
    const y0 = edge(rect.y, sy, height);
    const y1 = edge(rect.y + rect.height, sy, height);
    for (let y = y0; y < y1; y++) values.fill(v, y * width + x0, y * width + x1);
  });
  return { width, height, values, sx, sy };
}

/** Normalised 1-D Gaussian weights for offsets −r..r, r = ceil(3σ). */
export function gaussianKernel(sigma: number): Float32Array {
  if (!(sigma > 0)) return Float32Array.of(1);
  const r = Math.ceil(3 * sigma);
  const kernel = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += kernel[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  return kernel;
}

/** One separable pass; NaN pixels neither contribute nor receive (normalised convolution). */
function pass(
  src: Float32Array,
  width: number,
  height: number,
  kernel: Float32Array,
  horizontal: boolean,
): Float32Array {
  const out = new Float32Array(src.length).fill(NaN);
  const r = (kernel.length - 1) / 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * width + x;
      if (Number.isNaN(src[at])) continue;
      let sum = 0;
      let weight = 0;
      for (let k = -r; k <= r; k++) {
        const xx = horizontal ? x + k : x;
        const yy = horizontal ? y : y + k;
        if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
        const v = src[yy * width + xx];
        if (Number.isNaN(v)) continue;
        sum += kernel[k + r] * v;
        weight += kernel[k + r];
      }
      out[at] = sum / weight;
    }
  }
  return out;
}

/** Gaussian blur with standard deviation `sigma` raster pixels; uncovered pixels stay uncovered. */
export function blurRaster(raster: ValueRaster, sigma: number): ValueRaster {
  if (!(sigma > 0)) return raster;
  const kernel = gaussianKernel(sigma);
  const h = pass(raster.values, raster.width, raster.height, kernel, true);
  return { ...raster, values: pass(h, raster.width, raster.height, kernel, false) };
}

/** The median token-cell width in raster pixels: smoothing is given in cells, whatever the grid. */
export function cellSize(tokenRects: readonly (Rect | null)[], raster: ValueRaster): number {
  const sizes = tokenRects
    .filter((r): r is Rect => r !== null)
    .map((r) => Math.sqrt((r.width / raster.sx) * (r.height / raster.sy)))
    .sort((a, b) => a - b);
  return sizes.length ? sizes[Math.floor(sizes.length / 2)] : 1;
}

/** RGBA bytes (ImageData layout): the colormap colour, opaque where covered, transparent elsewhere. */
export function colouriseRaster(
  raster: ValueRaster,
  range: ValueRange,
  colormap: ColormapName,
): Uint8ClampedArray<ArrayBuffer> {
  const rgba = new Uint8ClampedArray(raster.width * raster.height * 4);
  raster.values.forEach((v, i) => {
    if (Number.isNaN(v)) return;
    const [r, g, b] = colorFor(v, range, colormap);
    rgba.set([r, g, b, 255], i * 4);
  });
  return rgba;
}

/** The whole smoothed layer: raster, blur of `smoothing` token cells, colours. */
export function smoothedOverlay(
  map: readonly number[],
  tokenRects: readonly (Rect | null)[],
  image: { readonly width: number; readonly height: number },
  smoothing: number,
  range: ValueRange,
  colormap: ColormapName,
  maxSide = 128,
): { width: number; height: number; rgba: Uint8ClampedArray<ArrayBuffer> } {
  const raster = rasteriseTokens(map, tokenRects, image, maxSide);
  const blurred = blurRaster(raster, smoothing * cellSize(tokenRects, raster));
  return { width: raster.width, height: raster.height, rgba: colouriseRaster(blurred, range, colormap) };
}
