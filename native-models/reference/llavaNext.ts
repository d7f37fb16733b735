/**
 * The float64 reference's LLaVA-NeXT packing, restated from transformers' modeling_llava_next.py for
 * the tests (it shares no code with the engine's token map, which it checks):
 *
 *   select_best_resolution → grid = best // vision image_size
 *   pack_image_features: base = features[0]; tiles = features[1:].view(rows, cols, side, side, D)
 *     .permute(4, 0, 2, 1, 3).flatten(1, 2).flatten(2, 3)        [D, rows·side, cols·side]
 *     unpad_image(tiles, original size); append image_newline as one more column;
 *     flatten(1, 2).transpose(0, 1); cat(base, tiles)
 */
import { ModelFormatError } from '../errors.ts';

type Vector = Float64Array;

/** image_processing_utils.select_best_resolution: most effective pixels, then least waste. */
export function selectBestResolution(
  original: [height: number, width: number],
  pinpoints: readonly [number, number][],
): [number, number] {
  const [oh, ow] = original;
  let best: [number, number] = pinpoints[0];
  let maxEffective = 0;
  let minWasted = Infinity;
  for (const [h, w] of pinpoints) {
    const scale = Math.min(w / ow, h / oh);
    const effective = Math.min(Math.trunc(ow * scale) * Math.trunc(oh * scale), ow * oh);
    const wasted = h * w - effective;
    if (effective > maxEffective || (effective === maxEffective && wasted < minWasted)) {
      maxEffective = effective;
      minWasted = wasted;
      best = [h, w];
    }
  }
  return best;
}

/** Python's int(round(x, 7)) for the positive values unpad_image sees. */
function intRound7(x: number): number {
  return Math.trunc(Number(x.toFixed(7)));
}

/** unpad_image's kept rows and columns of a height × width feature grid. */
export function unpadRange(
  original: [number, number],
  height: number,
  width: number,
): { rows: [number, number]; cols: [number, number] } {
  const [oh, ow] = original;
  if (ow / oh > width / height) {
    const newHeight = intRound7(oh * (width / ow));
    const pad = Math.trunc((height - newHeight) / 2);
    return { rows: [pad, height - pad], cols: [0, width] };
  }
  const newWidth = intRound7(ow * (height / oh));
  const pad = Math.trunc((width - newWidth) / 2);
  return { rows: [0, height], cols: [pad, width - pad] };
}

/**
 * Projected features of base + tiles ([P][side²] vectors) → the image's token features in the order
 * the language model reads them.
 */
export function packImageFeatures(
  patchFeatures: readonly Vector[][],
  original: [number, number],
  pinpoints: readonly [number, number][],
  tileSize: number,
  newline: Vector,
): Vector[] {
  const side = Math.round(Math.sqrt(patchFeatures[0].length));
  const [bh, bw] = selectBestResolution(original, pinpoints);
  const rows = bh / tileSize;
  const cols = bw / tileSize;
  if (patchFeatures.length !== 1 + rows * cols) {
    throw new ModelFormatError(
      'BAD_CONFIG',
      `image of ${original[0]}x${original[1]} needs 1 + ${rows}x${cols} patches, got ${patchFeatures.length}`,
    );
  }
  const H = rows * side;
  const W = cols * side;
  // The permute/flatten places tile (tr, tc)'s feature (r, c) at grid (tr·side + r, tc·side + c).
  const at = (y: number, x: number): Vector => {
    const tile = 1 + Math.floor(y / side) * cols + Math.floor(x / side);
    return patchFeatures[tile][(y % side) * side + (x % side)];
  };
  const kept = unpadRange(original, H, W);
  const out: Vector[] = [...patchFeatures[0]];
  for (let y = kept.rows[0]; y < kept.rows[1]; y++) {
    for (let x = kept.cols[0]; x < kept.cols[1]; x++) out.push(at(y, x));
    out.push(newline);
  }
  return out;
}
