/**
 * How an image-lens sample is stored (analyses/imageLens.ts writes it) and read back, one recorded
 * layer at a time, by the report's grid figures and the app's Image lens panel.
 */
import type { ImageLensItemResult } from '../../common/analysis.ts';
import { FusionError } from '../../common/errors.ts';
import type { Workspace } from '../store/workspace.ts';

/** The stored arrays, [recorded layer][image token] in the sample's token order. */
export const IMAGE_LENS_ARRAYS = { token: 'top1_token', prob: 'top1_prob' } as const;

export interface StoredLensLayer {
  readonly result: ImageLensItemResult;
  /** Per image token, its top-1 vocabulary token id at the layer. */
  readonly tokens: Float32Array;
  /** Per image token, that token's probability. */
  readonly probs: Float32Array;
}

/** One recorded layer of an item's sample; NOT_FOUND naming what is missing. */
export function storedLensLayer(
  workspace: Workspace,
  runId: number,
  itemId: string,
  layer: number,
): StoredLensLayer {
  const sample = workspace.readSamples<ImageLensItemResult>(runId).find((s) => s.itemId === itemId);
  if (!sample?.result) {
    const shown = JSON.stringify(itemId.slice(0, 200));
    throw new FusionError('NOT_FOUND', `run ${runId} has no image-lens result for item ${shown}`);
  }
  const { result } = sample;
  const row = result.layers.indexOf(layer);
  if (row < 0) {
    throw new FusionError(
      'NOT_FOUND',
      `run ${runId} recorded layers ${result.layers.join(', ')} of the image tokens, not layer ${layer}`,
    );
  }
  const read = (name: string) => {
    const stored = workspace.readArray(runId, itemId, name);
    if (!stored || stored.shape.length !== 2 || stored.shape[0] !== result.layers.length) {
      throw new FusionError('NOT_FOUND', `run ${runId} has no ${name} array of [layer][token] for this item`);
    }
    const n = stored.shape[1];
    return stored.data.subarray(row * n, (row + 1) * n);
  };
  return { result, tokens: read(IMAGE_LENS_ARRAYS.token), probs: read(IMAGE_LENS_ARRAYS.prob) };
}
