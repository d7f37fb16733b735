/**
 * The Qwen PyTorch oracle fixtures (fixtures/qwen-torch-<variant>/): what make_qwen_fixtures.ts
 * writes and the tests read. Each folder is a whole checkpoint (torch_qwen.py's own random weights)
 * plus expected.json.
 */
import { lcgImage } from '../testing/random.ts';
import type { TinyQwenOptions } from '../testing/tinyQwen.ts';
import type { ReferenceIntervention } from './llava.ts';
import type { RgbImage } from './qwen2vl.ts';
import type { TorchRun } from './torchFixture.ts';

/** A deterministic noise image: byte i = bits 16..23 of the i-th step of a 32-bit LCG from `seed`. */
export interface ImageRecipe {
  seed: number;
  width: number;
  height: number;
}

export function recipeImage({ seed, width, height }: ImageRecipe): RgbImage {
  return lcgImage(seed, width, height);
}

export interface QwenTorchVariant {
  name: string;
  /** Config, tokenizer and processor files (writeTinyQwen); its weights are not used. */
  options: TinyQwenOptions;
  /** torch.Generator seed of the checkpoint's weights. */
  torchSeed: number;
  image: ImageRecipe;
}

export const QWEN_TORCH_VARIANTS: QwenTorchVariant[] = [
  // Qwen2-VL as the hub ships Qwen2-VL-2B: flat legacy config, legacy tensor names, tied embeddings;
  // MQA (2 heads on 1 kv head), head_dim 16 split [2, 3, 3]; a 44 x 60 image → 48 x 64 (banker's
  // round of 5.5 and 7.5), 16 x 12 patches, 8 x 6 tokens.
  {
    name: 'qwen2-vl-f32-legacy',
    options: {
      family: 'qwen2_vl',
      seed: 0,
      dtype: 'F32',
      layout: 'legacy',
      configLayout: 'legacy',
      text: {
        hiddenSize: 32,
        heads: 2,
        kvHeads: 1,
        layers: 3,
        intermediateSize: 64,
        ropeTheta: 1000,
        mropeSection: [2, 3, 3],
        tieWordEmbeddings: true,
      },
      vision: { width: 16, heads: 2, depth: 2, intermediateSize: 32 },
    },
    torchSeed: 808,
    image: { seed: 8, width: 44, height: 60 },
  },
  // Qwen2.5-VL in the modern layout, BF16, GQA 4/2, head_dim 8 split [1, 1, 2]; a 70 x 30 image →
  // 72 x 32, 8 x 18 patches, 4 x 9 tokens in 2 x 2-token windows (a ragged last column of windows),
  // full attention in block 1 of 3.
  {
    name: 'qwen2.5-vl-bf16-modern',
    options: {
      family: 'qwen2_5_vl',
      seed: 0,
      dtype: 'BF16',
      layout: 'modern',
      text: {
        hiddenSize: 32,
        heads: 4,
        kvHeads: 2,
        layers: 3,
        intermediateSize: 64,
        ropeTheta: 1000,
        mropeSection: [1, 1, 2],
      },
      vision: { width: 16, heads: 2, depth: 3, intermediateSize: 24, fullAttBlockIndexes: [1] },
    },
    torchSeed: 909,
    image: { seed: 9, width: 70, height: 30 },
  },
];

export const QWEN_TORCH_QUESTION = 'What is the color of the big shape left of the square?';

export const QWEN_TORCH_RUNS: ReadonlyArray<{ name: string; interventions: ReferenceIntervention[] }> = [
  { name: 'none', interventions: [] },
  { name: 'knockout-l1', interventions: [{ mode: 'knockout', layers: [1] }] },
  { name: 'knockout-l0,2-t0,3,5', interventions: [{ mode: 'knockout', layers: [0, 2], tokens: [0, 3, 5] }] },
  { name: 'hidden-0-l1', interventions: [{ mode: 'hidden', layers: [1], scale: 0 }] },
  {
    name: 'hidden-0.1-l0,2-t1,2,7',
    interventions: [{ mode: 'hidden', layers: [0, 2], tokens: [1, 2, 7], scale: 0.1 }],
  },
];

export interface QwenTorchExpected {
  about: string;
  variant: string;
  /** The raw prompt (what the chat template renders for the question and one image). */
  prompt: string;
  image: ImageRecipe;
  /** The prompt's ids with <|image_pad|> expanded to the image's token count. */
  expandedIds: number[];
  imageTokenSpan: [number, number];
  /** image_grid_thw. */
  grid: [number, number, number];
  /** M-RoPE position ids [3][tokens]. */
  positions: number[][];
  runs: TorchRun[];
}
