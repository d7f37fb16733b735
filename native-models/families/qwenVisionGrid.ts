/**
 * What the Qwen vision graphs (qwenVision.ts) cannot compute statically, from an image's patch grid:
 *
 * - the 2-D rotary tables (transformers' rot_pos_emb): patch k of the processor's order sits at
 *   (row, col) of the patch grid; frequencies 1/10000^(2i/(dv/2)), i < dv/4; a row is
 *   [row·f, col·f] repeated twice (rotate-half layout), cos/sin → [N, dv];
 * - Qwen2.5-VL's windows (get_window_index): the merged grid cut into windows of `units` × `units`
 *   merged tokens from the top-left (the last row and column of windows may be partial), listed
 *   window by window, each row by row. `index` [N/m²] lists merged tokens in that order, `restore`
 *   is its inverse, `bias` [1, 1, N, N] over patches in window order is 0 within a window and −∞
 *   across; the rotary tables come permuted to window order, as the tower sees the patches.
 *
 * Still images only (t = 1): transformers attends within each temporal frame, which the graphs'
 * inputs do not express for t > 1.
 */
import { VISION_IO } from '../architectures/contract.ts';
import type { GraphTensor, PatchGrid } from '../architectures/types.ts';
import { inverseFrequencies, ropeTables } from '../blocks/ropeTables.ts';
import { ModelFormatError } from '../errors.ts';
import type { QwenVisionConfig } from './qwenVision.ts';

/** transformers' VisionRotaryEmbedding theta, fixed in its code. */
const VISION_ROPE_THETA = 10000;

function checkGrid(grid: PatchGrid, m: number): void {
  if (grid.t !== 1) {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `a ${grid.t}×${grid.h}×${grid.w} patch grid has ${grid.t} temporal patches; only still images (1) are supported`,
    );
  }
  if (!(grid.h > 0 && grid.w > 0 && grid.h % m === 0 && grid.w % m === 0)) {
    throw new ModelFormatError(
      'BAD_CONFIG',
      `the image's ${grid.h}×${grid.w} patch grid is not divisible by vision_config.spatial_merge_size (${m}); does preprocessor_config.json's merge_size agree with it?`,
    );
  }
}

/** Patch row and column of each patch in the processor's order (merge × merge blocks consecutive). */
export function patchCoordinates(grid: PatchGrid, m: number): { rows: number[]; cols: number[] } {
  checkGrid(grid, m);
  const rows: number[] = [];
  const cols: number[] = [];
  const blocksPerRow = grid.w / m;
  for (let k = 0; k < grid.h * grid.w; k++) {
    const block = Math.floor(k / (m * m));
    const within = k % (m * m);
    rows.push(Math.floor(block / blocksPerRow) * m + Math.floor(within / m));
    cols.push((block % blocksPerRow) * m + (within % m));
  }
  return { rows, cols };
}

/** The 2-D rotary cos/sin tables [N, headDim] in the processor's patch order. */
export function visionRotaryTables(
  grid: PatchGrid,
  cfg: Pick<QwenVisionConfig, 'headDim' | 'mergeSize'>,
): { cos: Float32Array; sin: Float32Array } {
  const { rows, cols } = patchCoordinates(grid, cfg.mergeSize);
  const dv = cfg.headDim;
  const quarter = dv / 4;
  // Each table is [pos·f, pos·f] over dv/2 columns; the tower's row is [row·f, col·f, row·f, col·f].
  const inverse = inverseFrequencies(dv / 2, VISION_ROPE_THETA, { type: 'default' });
  const byRow = ropeTables(rows, inverse);
  const byCol = ropeTables(cols, inverse);
  const n = rows.length;
  const cos = new Float32Array(n * dv);
  const sin = new Float32Array(n * dv);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < dv; j++) {
      const from = Math.floor(j / quarter) % 2 === 0 ? byRow : byCol;
      const at = k * (dv / 2) + (j % quarter);
      cos[k * dv + j] = from.cos[at];
      sin[k * dv + j] = from.sin[at];
    }
  }
  return { cos, sin };
}

export interface VisionWindows {
  /** Merged tokens (raster order) listed window by window [N/m²]. */
  readonly index: number[];
  /** Inverse permutation: restore[u] is where raster token u sits in window order. */
  readonly restore: number[];
  /** Merged tokens per window, in window order (no empty windows). */
  readonly sizes: number[];
}

export function visionWindows(grid: PatchGrid, mergeSize: number, units: number): VisionWindows {
  checkGrid(grid, mergeSize);
  const mh = grid.h / mergeSize;
  const mw = grid.w / mergeSize;
  const index: number[] = [];
  const sizes: number[] = [];
  for (let top = 0; top < mh; top += units) {
    for (let left = 0; left < mw; left += units) {
      const before = index.length;
      for (let r = top; r < Math.min(top + units, mh); r++) {
        for (let c = left; c < Math.min(left + units, mw); c++) index.push(r * mw + c);
      }
      sizes.push(index.length - before);
    }
  }
  const restore = new Array<number>(index.length);
  index.forEach((u, at) => (restore[u] = at));
  return { index, restore, sizes };
}

/** [1, 1, N, N] over patches in window order: 0 within a window, −∞ across. */
export function windowBias(sizes: readonly number[], mergeSize: number): Float32Array {
  const patchesPerUnit = mergeSize * mergeSize;
  const n = sizes.reduce((a, b) => a + b, 0) * patchesPerUnit;
  const bias = new Float32Array(n * n).fill(-Infinity);
  let start = 0;
  for (const size of sizes) {
    const end = start + size * patchesPerUnit;
    for (let r = start; r < end; r++) bias.fill(0, r * n + start, r * n + end);
    start = end;
  }
  return bias;
}

/** Rows of an [N, width] table reordered so merged token index[p]'s patches come p-th. */
function permuteUnits(table: Float32Array, index: readonly number[], patchesPerUnit: number, width: number) {
  const out = new Float32Array(table.length);
  const span = patchesPerUnit * width;
  index.forEach((u, p) => out.set(table.subarray(u * span, (u + 1) * span), p * span));
  return out;
}

/** The vision graph's grid-dependent inputs for one image, by contract name. */
export function qwenVisionGridInputs(cfg: QwenVisionConfig, grid: PatchGrid): Record<string, GraphTensor> {
  const { cos, sin } = visionRotaryTables(grid, cfg);
  const n = grid.h * grid.w;
  const dims = [n, cfg.headDim];
  if (cfg.window === undefined) {
    return { [VISION_IO.ropeCos]: { data: cos, dims }, [VISION_IO.ropeSin]: { data: sin, dims } };
  }
  const m = cfg.mergeSize;
  const { index, restore, sizes } = visionWindows(grid, m, cfg.window.units);
  const int64 = (values: number[]) => BigInt64Array.from(values, (v) => BigInt(v));
  return {
    [VISION_IO.ropeCos]: { data: permuteUnits(cos, index, m * m, cfg.headDim), dims },
    [VISION_IO.ropeSin]: { data: permuteUnits(sin, index, m * m, cfg.headDim), dims },
    [VISION_IO.windowIndex]: { data: int64(index), dims: [index.length] },
    [VISION_IO.windowRestore]: { data: int64(restore), dims: [restore.length] },
    [VISION_IO.windowBias]: { data: windowBias(sizes, m), dims: [1, 1, n, n] },
  };
}
