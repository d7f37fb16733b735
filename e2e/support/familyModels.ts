/**
 * Tiny random checkpoints of the paper's other families for the model-family stories (4 decoder
 * layers keep every run on the demo dataset to a second or two):
 * - LLaVA-NeXT: any-resolution tiles (pinpoints of 1×2, 2×1, 2×2, 3×1 and 1×3 tiles of 28 px), so a
 *   64 px demo image makes 88 image tokens — a 4 × 4 base grid, then 8 rows of 8 tile tokens each
 *   closed by an image_newline — not one square grid.
 * - VIP-LLaVA: features of several vision layers concatenated, a layer-normed projector; 16 image
 *   tokens on a 4 × 4 grid.
 */
import { join } from 'node:path';

import { writeTinyLlava } from '../../native-models/testing/tinyLlava.ts';

export async function makeLlavaNextModel(target: string, seed = 62): Promise<void> {
  await writeTinyLlava(target, { seed, dtype: 'F16', layout: 'modern', llavaNext: {}, text: { layers: 4 } });
}

export async function makeVipLlavaModel(target: string, seed = 61): Promise<void> {
  await writeTinyLlava(target, { seed, dtype: 'F16', layout: 'modern', vipllava: true, text: { layers: 4 } });
}

/** Folders of the tiny family models, by model_type. */
export interface FamilyModels {
  readonly llava_next: string;
  readonly vipllava: string;
}

/** Writes every family's tiny model under `scratch`, all at once. */
export async function makeFamilyModels(scratch: string): Promise<FamilyModels> {
  const models: FamilyModels = {
    llava_next: join(scratch, 'llava-next-tiny'),
    vipllava: join(scratch, 'vip-llava-tiny'),
  };
  await Promise.all([makeLlavaNextModel(models.llava_next), makeVipLlavaModel(models.vipllava)]);
  return models;
}
