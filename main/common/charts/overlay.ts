/**
 * Attention overlays as data: which colour each image token's rectangle gets, which boxes and noise
 * tokens are outlined, how colour ranges are shared between panels and which layers a strip of small
 * multiples shows. Pure, so the headless report (main/engine/report) and the app's SVG overlays draw
 * the same thing from the same numbers. No interpolation: each token's rectangle is one flat colour.
 */
import type { Box, Rect } from '../analysis.ts';
import {
  assertColormap,
  checkRange,
  colorFor,
  colormapPosition,
  defaultRange,
  isDiverging,
  type ColormapName,
  type Rgb,
  type ValueRange,
} from './colormaps.ts';
import { fail } from './validate.ts';

export interface OverlayMapInput {
  /** One value per image token (attention, or signed CA). Non-finite values are left undrawn. */
  map: readonly number[];
  /** Per token, its rectangle in image pixels; null for tokens without one. Same length as map. */
  tokenRects: readonly (Rect | null)[];
  colormap: ColormapName;
  /** Value range of the colormap; default: the map's [min, max], symmetric about 0 for coolwarm. */
  range?: ValueRange;
  /** Relevant regions [x0, y0, x1, y1] in image pixels, outlined solid white on black. */
  boxes?: readonly Box[];
  /** Token indices outlined with a dashed black/white line (persistent high-attention noise). */
  noiseTokens?: readonly number[];
}

export interface OverlayCell {
  token: number;
  rect: Rect;
  rgb: Rgb;
}

export interface ResolvedOverlay {
  colormap: ColormapName;
  range: ValueRange;
  /** In token order: later tokens paint over earlier ones where rectangles overlap. */
  cells: OverlayCell[];
  boxes: Box[];
  noise: Rect[];
}

/** Stroke widths in screen pixels (the report: image pixels times scale), shared by every renderer. */
export const OUTLINE = {
  /** Box: black 4 wide under white 2 wide, centred on the edge: black | white | black. */
  boxHalo: 4,
  box: 2,
  /** Noise token: black 2 wide under white dashes of 3. */
  noise: 2,
  noiseDash: 3,
};

function checkRect(rect: Rect, i: number): void {
  const ok =
    [rect.x, rect.y, rect.width, rect.height].every(Number.isFinite) && rect.width > 0 && rect.height > 0;
  if (!ok)
    fail(`tokenRects[${i}] must have finite x, y and positive width, height; got ${JSON.stringify(rect)}`);
}

function checkBox(box: Box, i: number): void {
  if (
    !Array.isArray(box) ||
    box.length !== 4 ||
    !box.every(Number.isFinite) ||
    box[2] <= box[0] ||
    box[3] <= box[1]
  ) {
    fail(`boxes[${i}] must be [x0, y0, x1, y1] with x0 < x1, y0 < y1; got ${JSON.stringify(box)}`);
  }
}

/** The values a map actually draws: finite, on tokens with a rectangle. */
export function drawnValues(map: readonly number[], tokenRects: readonly (Rect | null)[]): number[] {
  return map.filter((v, i) => tokenRects[i] && Number.isFinite(v));
}

/** One colour range over several maps of the same image (a strip of layers on one scale). */
export function sharedRange(
  maps: readonly (readonly number[])[],
  tokenRects: readonly (Rect | null)[],
  colormap: ColormapName,
): ValueRange {
  return defaultRange(
    maps.flatMap((map) => (Array.isArray(map) ? drawnValues(map, tokenRects) : [])),
    colormap,
  );
}

/**
 * Ranges of the contrastive-attention panels (paper §3): the pre-integration and final maps share one
 * sequential scale so their magnitudes compare; CA is signed, symmetric about 0 on the diverging map.
 */
export function contrastRanges(
  pre: readonly number[],
  final: readonly number[],
  ca: readonly number[],
  tokenRects: readonly (Rect | null)[],
  colormap: ColormapName,
): { attention: ValueRange; ca: ValueRange } {
  return {
    attention: sharedRange([pre, final], tokenRects, colormap),
    ca: defaultRange(drawnValues(ca, tokenRects), 'coolwarm'),
  };
}

/** Checks a map against its token rectangles and resolves every cell's colour and the outlines. */
export function resolveOverlay(input: OverlayMapInput): ResolvedOverlay {
  if (typeof input !== 'object' || input === null) fail('overlay input must be an object');
  assertColormap(input.colormap);
  const { map, tokenRects } = input;
  if (!Array.isArray(map) || !Array.isArray(tokenRects)) fail('overlay map and tokenRects must be arrays');
  if (map.length !== tokenRects.length) {
    fail(`overlay map has ${map.length} values but tokenRects has ${tokenRects.length} entries`);
  }
  const range = input.range ?? defaultRange(drawnValues(map, tokenRects), input.colormap);
  checkRange(range, input.colormap);

  const cells: OverlayCell[] = [];
  tokenRects.forEach((rect, token) => {
    if (rect === null) return;
    checkRect(rect, token);
    const v = map[token];
    if (typeof v !== 'number') fail(`map[${token}] must be a number, got ${JSON.stringify(v)}`);
    if (!Number.isFinite(v)) return;
    cells.push({ token, rect, rgb: colorFor(v, range, input.colormap) });
  });
  const boxes = [...(input.boxes ?? [])];
  boxes.forEach(checkBox);
  const noise = (input.noiseTokens ?? []).map((token) => {
    const rect = Number.isInteger(token) ? tokenRects[token] : undefined;
    if (!rect) fail(`noiseTokens names token ${token}, which has no rectangle`);
    return rect;
  });
  return { colormap: input.colormap, range, cells, boxes, noise };
}

/**
 * `count` layers spread evenly over 0..numLayers−1, first and last included (a strip of small
 * multiples), plus any `include` layers (fusion/review layers), sorted and without repeats.
 */
export function evenlySpacedLayers(
  numLayers: number,
  count: number,
  include: readonly number[] = [],
): number[] {
  if (!Number.isInteger(numLayers) || numLayers < 1)
    fail(`numLayers must be a positive integer, got ${numLayers}`);
  if (!Number.isInteger(count) || count < 1) fail(`count must be a positive integer, got ${count}`);
  const last = numLayers - 1;
  const spread =
    count === 1 || last === 0
      ? [last]
      : Array.from({ length: Math.min(count, numLayers) }, (_, i) =>
          Math.round((i * last) / (Math.min(count, numLayers) - 1)),
        );
  const extra = include.filter((l) => Number.isInteger(l) && l >= 0 && l <= last);
  return [...new Set([...spread, ...extra])].sort((a, b) => a - b);
}

/** Compact tick text: up to 3 significant digits, exponent form for very small or large values. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  const text =
    a >= 0.01 && a < 10000
      ? String(Number.parseFloat(v.toPrecision(3)))
      : v.toExponential(1).replace('e+', 'e');
  return text.replace(/^-/, '\u2212');
}

export interface ColorbarSpec {
  colormap: ColormapName;
  range: ValueRange;
  caption: string;
  /** Label ends "low"/"high" instead of values (maps normalised one by one). */
  relative?: boolean;
}

/** Tick positions t in [0, 1] along a colour bar (0 = bottom) and their labels. */
export function colorbarTicks(spec: ColorbarSpec): { t: number; label: string }[] {
  const [lo, hi] = spec.range;
  if (spec.relative) {
    return isDiverging(spec.colormap)
      ? [
          { t: 0, label: 'low' },
          { t: 0.5, label: '0' },
          { t: 1, label: 'high' },
        ]
      : [
          { t: 0, label: 'low' },
          { t: 1, label: 'high' },
        ];
  }
  const values = isDiverging(spec.colormap) ? [lo, 0, hi] : [lo, (lo + hi) / 2, hi];
  return values.map((v) => ({ t: colormapPosition(v, spec.range, spec.colormap), label: formatTick(v) }));
}
