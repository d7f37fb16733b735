/**
 * The PyTorch oracle fixtures (fixtures/torch-<variant>.json): what make_torch_fixtures.ts writes from
 * torch_llava.py's outputs and torch.test.ts checks the TS reference against. Shared here so that both
 * regenerate the same checkpoint, prompt and pixels.
 */
import type { TinyLlavaOptions } from '../testing/tinyLlava.ts';
import type { ReferenceIntervention } from './llava.ts';

/**
 * A deterministic normalized image, CHW, each value rounded to float32:
 *   v(c, y, x) = amplitude·sin(fx·x + fy·y + phase·c) + cross·cos(fxy·x·y + c) + offset
 */
export interface PixelRecipe {
  kind: 'sine';
  channels: number;
  size: number;
  amplitude: number;
  fx: number;
  fy: number;
  phase: number;
  cross: number;
  fxy: number;
  offset: number;
}

export function pixelsFromRecipe(recipe: PixelRecipe): Float32Array {
  const { channels, size } = recipe;
  const out = new Float32Array(channels * size * size);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        out[(c * size + y) * size + x] =
          recipe.amplitude * Math.sin(recipe.fx * x + recipe.fy * y + recipe.phase * c) +
          recipe.cross * Math.cos(recipe.fxy * x * y + c) +
          recipe.offset;
      }
    }
  }
  return out;
}

export function pixelRecipe(size: number): PixelRecipe {
  return {
    kind: 'sine',
    channels: 3,
    size,
    amplitude: 1.3,
    fx: 0.9,
    fy: 0.45,
    phase: 1.7,
    cross: 0.4,
    fxy: 0.05,
    offset: -0.1,
  };
}

/** Checkpoints that between them exercise every dtype, both layouts, sharding, MHA/GQA/MQA, VIP-LLaVA, … */
export const TORCH_VARIANTS: Record<string, TinyLlavaOptions> = {
  // Multi-head attention, legacy tensor names, single file, vision_feature_layer -2, "default".
  'f32-mha-legacy': { seed: 101, dtype: 'F32', layout: 'legacy', text: { kvHeads: 4 } },
  // GQA (8 query heads on 2 kv heads) with head_dim 16 ≠ hidden/heads, modern names in 3 shards,
  // two concatenated feature layers with the CLS row kept, tanh-GELU projector, erf-GELU vision MLP.
  'bf16-gqa-modern': {
    seed: 202,
    dtype: 'BF16',
    layout: 'modern',
    shards: 3,
    text: { heads: 8, kvHeads: 2, headDim: 16, ropeTheta: 500000 },
    vision: { hiddenAct: 'gelu' },
    visionFeatureLayer: [-2, -1],
    visionFeatureSelectStrategy: 'full',
    projectorHiddenAct: 'gelu_pytorch_tanh',
  },
  // Tied embeddings (no lm_head tensor), one kv head (MQA), q/k/v/o biases, a positive feature layer.
  'f16-tied': {
    seed: 303,
    dtype: 'F16',
    layout: 'legacy',
    text: { tieWordEmbeddings: true, kvHeads: 1, attentionBias: true, rmsNormEps: 1e-6, ropeTheta: 1e6 },
    visionFeatureLayer: 1,
    projectorHiddenAct: 'quick_gelu',
  },
  // VIP-LLaVA: four of five vision states (the second-to-last, layer 1, the last, the embeddings),
  // each without CLS, concatenated → projector LayerNorm (eps 1e-4) → MLP; F16, modern names, GQA.
  'vipllava-f16-modern': {
    seed: 404,
    dtype: 'F16',
    layout: 'modern',
    vipllava: true,
    vision: { layers: 4, hiddenAct: 'gelu' },
    visionFeatureLayer: [-2, -4, 4, 0],
    projectorLayerNormEps: 1e-4,
    text: { heads: 4, kvHeads: 2 },
  },
  // LLaVA-NeXT: a 30 x 70 image → pinpoint 28 x 84 (1 x 3 tiles), unpad keeps 10 of 12 feature
  // columns, a newline after each of 4 rows: 16 + 44 tokens. BF16, modern names, GQA.
  'llava-next-bf16-modern': {
    seed: 505,
    dtype: 'BF16',
    layout: 'modern',
    llavaNext: {},
    vision: { hiddenAct: 'gelu' },
    text: { heads: 4, kvHeads: 2 },
  },
  // LLaVA-NeXT on a Llama-3 text model (llama3-llava-next-8b-hf in miniature): rope_theta 500000 and
  // Llama 3.1's rope_scaling with original_max_position_embeddings 64, so that at head_dim 16 one
  // frequency is kept, one blended and six slowed 8x. A 70 x 30 image → pinpoint 84 x 28 (3 x 1
  // tiles); F16, legacy names, MQA.
  'llava-next-llama3-f16': {
    seed: 606,
    dtype: 'F16',
    layout: 'legacy',
    llavaNext: {},
    text: {
      heads: 4,
      kvHeads: 1,
      headDim: 16,
      ropeTheta: 500000,
      ropeScaling: {
        rope_type: 'llama3',
        factor: 8.0,
        low_freq_factor: 1.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 64,
      },
    },
  },
  // LLaVA-NeXT on a Mistral text model (llava-v1.6-mistral-7b-hf in miniature, with a window): GQA
  // 8/2, rope_theta 1e6, sliding_window 40 on a 40 x 90 image → pinpoint 28 x 84 (1 x 3 tiles), so the
  // last position sees only the newest image tokens; F32, modern names, 2 shards.
  'llava-next-mistral-f32': {
    seed: 707,
    dtype: 'F32',
    layout: 'modern',
    shards: 2,
    llavaNext: {},
    text: { modelType: 'mistral', heads: 8, kvHeads: 2, headDim: 8, ropeTheta: 1e6, slidingWindow: 40 },
  },
};

/** Any-resolution variants: the original image size (height, width) their patches stand for. */
export const TORCH_ANYRES_SIZES: Record<string, [number, number]> = {
  'llava-next-bf16-modern': [30, 70],
  'llava-next-llama3-f16': [70, 30],
  'llava-next-mistral-f32': [40, 90],
};

/** Patch i of an any-resolution input (0: base): the base recipe with its phase and offset shifted. */
export function patchRecipe(size: number, i: number): PixelRecipe {
  const base = pixelRecipe(size);
  return { ...base, phase: base.phase + 0.3 * i, offset: base.offset + 0.05 * i };
}

export const TORCH_RUNS: ReadonlyArray<{ name: string; interventions: ReferenceIntervention[] }> = [
  { name: 'none', interventions: [] },
  { name: 'knockout-l1', interventions: [{ mode: 'knockout', layers: [1] }] },
  { name: 'hidden-0-l1', interventions: [{ mode: 'hidden', layers: [1], scale: 0 }] },
  {
    name: 'hidden-0.1-l0,2-t1,2,7',
    interventions: [{ mode: 'hidden', layers: [0, 2], tokens: [1, 2, 7], scale: 0.1 }],
  },
];

export const TORCH_PROMPT = 'What is the color of the big shape left of the square?';

export interface TorchRun {
  name: string;
  interventions: ReferenceIntervention[];
  /** Logits at the last position. */
  logits: number[];
  /** [layer][image token]: the last position's attention to each image token, mean over heads. */
  attention: number[][];
  /** [layer]: the last position's residual stream after the layer, before the final norm. */
  hidden: number[][];
}

export interface TorchFixture {
  about: string;
  variant: string;
  options: TinyLlavaOptions;
  inputIds: number[];
  imageTokenSpan: [number, number];
  pixels: PixelRecipe;
  /** LLaVA-NeXT: the original (height, width) and the recipe of every patch, base first. */
  anyres?: { imageSize: [number, number]; patches: PixelRecipe[] };
  runs: TorchRun[];
}
