/**
 * Tiny random checkpoints of the paper's other families for the model-family stories (4 decoder
 * layers keep every run on the demo dataset to a second or two):
 * - LLaVA-NeXT: any-resolution tiles (pinpoints of 1×2, 2×1, 2×2, 3×1 and 1×3 tiles of 28 px), so a
 *   64 px demo image makes 88 image tokens — a 4 × 4 base grid, then 8 rows of 8 tile tokens each
 *   closed by an image_newline — not one square grid.
 * - VIP-LLaVA: features of several vision layers concatenated, a layer-normed projector; 16 image
 *   tokens on a 4 × 4 grid.
 * - Qwen2-VL / Qwen2.5-VL: patch 4, merge 2, so a 64 px image gives 8 × 8 merged tokens (2.5: in
 *   windows of 2 × 2 tokens); M-RoPE positions.
 * - InstructBLIP: 4 query tokens from a 2-layer Q-Former over a 32 px, 4 × 4 patch tower.
 */
import { join } from 'node:path';

import { writeTinyInstructBlip } from '../../native-models/testing/tinyInstructBlip.ts';
import { writeTinyLlava } from '../../native-models/testing/tinyLlava.ts';
import { writeTinyQwen } from '../../native-models/testing/tinyQwen.ts';

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
  readonly qwen2_vl: string;
  readonly qwen2_5_vl: string;
  readonly instructblip: string;
}

/** Writes every family's tiny model under `scratch`, all at once. */
export async function makeFamilyModels(scratch: string): Promise<FamilyModels> {
  const models: FamilyModels = {
    llava_next: join(scratch, 'llava-next-tiny'),
    vipllava: join(scratch, 'vip-llava-tiny'),
    qwen2_vl: join(scratch, 'qwen2-vl-tiny'),
    qwen2_5_vl: join(scratch, 'qwen2-5-vl-tiny'),
    instructblip: join(scratch, 'instructblip-tiny'),
  };
  await Promise.all([
    makeLlavaNextModel(models.llava_next),
    makeVipLlavaModel(models.vipllava),
    // Modern key layouts, 4 decoder layers like the others; 64 px demo images give 8 × 8 tokens.
    writeTinyQwen(models.qwen2_vl, {
      family: 'qwen2_vl',
      seed: 71,
      dtype: 'F16',
      layout: 'modern',
      text: { layers: 4 },
    }),
    writeTinyQwen(models.qwen2_5_vl, {
      family: 'qwen2_5_vl',
      seed: 72,
      dtype: 'BF16',
      layout: 'modern',
      text: { layers: 4 },
    }),
    writeTinyInstructBlip(models.instructblip, { seed: 73, dtype: 'F16', text: { layers: 4 } }),
  ]);
  return models;
}
