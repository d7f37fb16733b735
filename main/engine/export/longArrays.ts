/**
 * Stored arrays as long tables, for the formats that have no n-dimensional type (CSV, Parquet): one row
 * per element, `sample, d0, d1, …, value`, C order (the last index fastest). Arrays are ragged across
 * samples (image tokens and question lengths differ), so every row carries its own indices.
 */
import { FusionError } from '../../common/errors.ts';
import type { StoredArray } from '../../common/runs.ts';

/** Receives one array name's data, sample by sample. */
export interface ArraySink {
  /** Adds one sample's array; returns its key inside the file (npz), or null (long tables). */
  add(sample: number, array: StoredArray): string | null;
  close(): void;
  /** Stops without finishing the file (the export is being abandoned). */
  abort(): void;
}

export const longColumns = (rank: number): string[] => [
  'sample',
  ...Array.from({ length: rank }, (_, d) => `d${d}`),
  'value',
];

/** One array name has one rank in every sample (the layout of its columns). */
export function checkRank(name: string, rank: number, sample: number, array: StoredArray): void {
  if (array.shape.length !== rank) {
    throw new FusionError(
      'STORE',
      `array '${name}' of sample ${sample} has ${array.shape.length} dimensions where earlier samples have ${rank}`,
    );
  }
}

/**
 * Calls `row(flat, index)` for each element in C order, with `index` (reused between calls) holding
 * the element's position along each dimension.
 */
export function forEachElement(
  shape: readonly number[],
  size: number,
  row: (flat: number, index: readonly number[]) => void,
): void {
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < size; flat++) {
    row(flat, index);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}
