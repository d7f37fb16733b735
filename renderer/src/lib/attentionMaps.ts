/**
 * Reading a sample's stored arrays (SampleDetail.arrays) and choosing what the overlay draws: the
 * head mean A^(l) or one head's map renormalised over the image tokens (paper §2's A^(l) is the head
 * mean renormalised the same way), the colour range (each layer on its own, or one range for all
 * layers so magnitudes compare), and the layers of the small-multiples strip.
 */
import type { Rect } from '../../../main/common/analysis.ts';
import type { NestedNumbers } from '../../../main/common/api/index.ts';
import { defaultRange, type ColormapName, type ValueRange } from '../../../main/common/charts/colormaps.ts';
import { drawnValues, evenlySpacedLayers, sharedRange } from '../../../main/common/charts/overlay.ts';

const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');

export function vectorOf(value: NestedNumbers | undefined): number[] | null {
  return isNumbers(value) ? value : null;
}

/** A [rows][cols] array, or null when the value is missing or not two-dimensional. */
export function matrixOf(value: NestedNumbers | undefined): number[][] | null {
  return Array.isArray(value) && value.every(isNumbers) ? (value as number[][]) : null;
}

/** A [a][b][c] array (per_head: [layer][head][token]), or null. */
export function tensor3Of(value: NestedNumbers | undefined): number[][][] | null {
  return Array.isArray(value) && value.every((m) => matrixOf(m as NestedNumbers) !== null)
    ? (value as number[][][])
    : null;
}

/** Values scaled to sum 1 (a distribution over image tokens); all-zero stays zero. */
export function renormalise(values: readonly number[]): number[] {
  const sum = values.reduce((a, v) => a + (Number.isFinite(v) ? v : 0), 0);
  return sum > 0 ? values.map((v) => v / sum) : [...values];
}

export type HeadChoice = 'mean' | number;

/** The map to draw at a layer: the stored head mean, or one head renormalised. */
export function layerMap(
  maps: readonly (readonly number[])[],
  perHead: readonly (readonly (readonly number[])[])[] | null,
  layer: number,
  head: HeadChoice,
): number[] {
  if (head === 'mean' || !perHead) return [...(maps[layer] ?? [])];
  const row = perHead[layer]?.[head];
  if (!row) throw new Error(`no per-head map for layer ${layer}, head ${head}`);
  return renormalise(row);
}

export type ColourScale = 'layer' | 'shared';

/** Colour range at one layer: that layer's own [min, max], or one range over every layer. */
export function layerRange(
  all: readonly (readonly number[])[],
  layer: number,
  scale: ColourScale,
  tokenRects: readonly (Rect | null)[],
  colormap: ColormapName,
): ValueRange {
  return scale === 'shared'
    ? sharedRange(all, tokenRects, colormap)
    : defaultRange(drawnValues(all[layer] ?? [], tokenRects), colormap);
}

/** Every layer when they fit in a strip (≤ max), else `max` spread evenly plus the marked layers. */
export function stripLayers(numLayers: number, marked: readonly number[] = [], max = 16): number[] {
  if (numLayers <= max) return Array.from({ length: numLayers }, (_, l) => l);
  return evenlySpacedLayers(numLayers, Math.max(2, max - marked.length), marked);
}
