/**
 * LLaVA-NeXT: the ONNX engine (base + tile stack through the vision graph, gathered into token-map
 * order with image_newline) against the float64 reference (native-models/reference/llavaNext.ts, its
 * own select_best_resolution / unpad / pack) on tiny checkpoints, for square, wide, tall and extreme
 * images. Tolerance 1e-4 relative, as fidelity.test.ts; the bad-config errors are checked at the end.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EMBED_IO } from '../../../native-models/architectures/contract.ts';
import { ReferenceLlava } from '../../../native-models/reference/llava.ts';
import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import { lcgImage } from '../../../native-models/testing/random.ts';
import { writeTinyLlava, type TinyLlavaOptions } from '../../../native-models/testing/tinyLlava.ts';
import type { Intervention } from '../../common/interventions.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { expectImageEmbedsMatch, expectLastRowMatch, withoutFinalEos } from './fidelity.testing.ts';
import { forward, prepareSample, type PreparedSample } from './forward.ts';
import { generate } from './generate.ts';

const TOLERANCE = 1e-4;

/**
 * Llama 3.1's scaling with original_max_position_embeddings 64 instead of 8192, so that at head_dim
 * 16 and rope_theta 500000 one frequency is kept (wavelength 6.3 < 16), one blended (32 in [16, 64])
 * and six slowed 8x (wavelength > 64), within a few dozen positions.
 */
const LLAMA3_ROPE_SCALING = {
  rope_type: 'llama3',
  factor: 8.0,
  low_freq_factor: 1.0,
  high_freq_factor: 4.0,
  original_max_position_embeddings: 64,
};

const VARIANTS: Array<{ name: string; options: TinyLlavaOptions }> = [
  {
    name: 'F32, legacy keys, default pinpoints (1x2, 2x1, 2x2, 3x1, 1x3 tiles)',
    options: { seed: 21, dtype: 'F32', layout: 'legacy', llavaNext: {} },
  },
  {
    name: 'F16, modern keys, 2 shards, MHA, pinpoints up to 3x3 tiles',
    options: {
      seed: 22,
      dtype: 'F16',
      layout: 'modern',
      shards: 2,
      text: { kvHeads: 4 },
      llavaNext: {
        pinpoints: [
          [28, 28],
          [56, 84],
          [84, 56],
          [84, 84],
          [28, 84],
        ],
      },
    },
  },
  // The text backbones of llava-v1.6-mistral-7b-hf and llama3-llava-next-8b-hf, in miniature.
  {
    name: 'BF16, Mistral text: GQA 8/2 heads, head_dim 16, rope_theta 1e6, sliding_window 30 (bites)',
    options: {
      seed: 24,
      dtype: 'BF16',
      layout: 'modern',
      text: { modelType: 'mistral', heads: 8, kvHeads: 2, headDim: 16, ropeTheta: 1e6, slidingWindow: 30 },
      llavaNext: {},
    },
  },
  {
    name: 'F32, Mistral text: sliding_window null (as llava-v1.6-mistral-7b-hf), GQA 4/1',
    options: {
      seed: 25,
      dtype: 'F32',
      layout: 'legacy',
      text: { modelType: 'mistral', kvHeads: 1, ropeTheta: 1e6, slidingWindow: null },
      llavaNext: {},
    },
  },
  {
    name: 'F16, Llama-3 text: rope_theta 500000, llama3 rope_scaling with all three frequency bands',
    options: {
      seed: 26,
      dtype: 'F16',
      layout: 'modern',
      text: { headDim: 16, ropeTheta: 500000, ropeScaling: LLAMA3_ROPE_SCALING },
      llavaNext: {},
    },
  },
];

/** [width, height]: square, wide, tall, and extreme both ways (150x3 and 2000x1 keep no tile row). */
const SIZES: Array<[string, number, number]> = [
  ['square 40x40', 40, 40],
  ['wide 90x30', 90, 30],
  ['tall 25x70', 25, 70],
  ['extreme 150x3', 150, 3],
  ['extreme 4x200', 4, 200],
  ['extreme 2000x1', 2000, 1],
];

/** Interventions for an image of n tokens (subsets span the base grid, the tiles and the last token). */
const INTERVENTIONS: Array<[string, (n: number) => Intervention[]]> = [
  ['none', () => []],
  ['knockout at layer 1, all image tokens', () => [{ mode: 'knockout', layers: [1] }]],
  [
    'knockout at layers 0 and 2, a token subset',
    (n) => [{ mode: 'knockout', layers: [0, 2], tokens: [0, 3, n - 1] }],
  ],
  [
    'hidden 0.1 at layers 0 and 2 on a subset',
    (n) => [{ mode: 'hidden', layers: [0, 2], tokens: [1, Math.floor(n / 2), n - 2], scale: 0.1 }],
  ],
];

describe.each(VARIANTS)('LLaVA-NeXT engine vs float64 reference: $name', ({ options }) => {
  let dir: string;
  let model: LoadedModel;
  let reference: ReferenceLlava;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fusionscope-next-fidelity-'));
    await writeTinyLlava(dir, options);
    model = await openModel(dir, { provider: 'cpu' });
    reference = await ReferenceLlava.load(dir);
  });

  afterAll(async () => {
    await model?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const prepare = (width: number, height: number) =>
    prepareSample(model, {
      image: lcgImage(width * 7 + height, width, height),
      prompt: { kind: 'question', text: 'what color is the shape left of the square' },
    });
  const referenceRun = (sample: PreparedSample, interventions: Intervention[] = []) => {
    const anyres = sample.image.anyres!;
    return reference.forward({
      inputIds: [...sample.expandedIds],
      pixelValues: sample.image.pixelValues,
      imageSize: [sample.image.height, sample.image.width],
      anyres: {
        patches: anyres.patches.map((p) => p.pixelValues),
        originalSize: [anyres.imageSize.height, anyres.imageSize.width],
      },
      interventions,
    });
  };

  it.each(SIZES)('%s: token count and packed features (base, tiles, newlines) match', async (_, w, h) => {
    const sample = await prepare(w, h);
    const ref = referenceRun(sample);
    expect(ref.imageTokenSpan).toEqual(sample.imageTokenSpan);
    expect(ref.imageFeatures).toHaveLength(sample.imageLayout.count);
    await expectImageEmbedsMatch(model, sample, ref.imageFeatures, TOLERANCE);
    expect(EMBED_IO.embeds).toBe('inputs_embeds');
  });

  describe.each(SIZES.slice(0, 5))('%s', (_, w, h) => {
    let sample: PreparedSample;
    beforeAll(async () => {
      sample = await prepare(w, h);
    });

    it.each(INTERVENTIONS)('logits, attention and hidden states match: %s', async (_, make) => {
      const interventions = make(sample.imageLayout.count);
      const ours = await forward(model, sample, { interventions });
      const ref = referenceRun(sample, interventions);
      expectLastRowMatch(ours, ref, sample.imageTokenSpan, model.spec.decoder.heads, TOLERANCE);
    });
  });

  it('greedy generation yields the reference tokens', async () => {
    const sample = await prepare(90, 30);
    const anyres = sample.image.anyres!;
    const ours = await generate(model, sample, { maxNewTokens: 4 });
    const ref = reference.generate(
      {
        inputIds: [...sample.expandedIds],
        pixelValues: sample.image.pixelValues,
        imageSize: [sample.image.height, sample.image.width],
        anyres: {
          patches: anyres.patches.map((p) => p.pixelValues),
          originalSize: [anyres.imageSize.height, anyres.imageSize.width],
        },
      },
      { maxNewTokens: 4, eosTokenId: model.eosTokenIds[0] },
    );
    const eos = model.eosTokenIds[0];
    expect(ours.tokenIds).toEqual(withoutFinalEos(ref, eos));
  });

  const window = options.text?.slidingWindow;
  it.runIf(typeof window === 'number')(
    'the sliding window bites: the last row sees only the newest image tokens',
    async () => {
      const sample = await prepare(90, 30);
      const last = sample.expandedIds.length - 1;
      const [start, end] = sample.imageTokenSpan;
      expect(last - start).toBeGreaterThanOrEqual(window as number);
      expect(last - (end - 1)).toBeLessThan(window as number);
      const { attention } = await forward(model, sample);
      const n = end - start;
      const hidden = last - (window as number) + 1 - start; // image tokens this far behind are masked
      for (const layer of attention) {
        for (let i = 0; i < n; i++) {
          if (i < hidden) expect(layer[i]).toBe(0);
          else expect(layer[i]).toBeGreaterThan(0);
        }
      }
    },
  );

  it.runIf(options.text?.ropeScaling !== undefined)(
    'rope_scaling matters: the engine follows the scaled reference, far from the unscaled one',
    async () => {
      const plainDir = `${dir}-plain`;
      await cp(dir, plainDir, { recursive: true });
      try {
        const config = JSON.parse(await readFile(join(plainDir, 'config.json'), 'utf8'));
        config.text_config.rope_scaling = null;
        await writeFile(join(plainDir, 'config.json'), JSON.stringify(config));
        const plain = await ReferenceLlava.load(plainDir);
        const sample = await prepare(90, 30);
        const last = sample.expandedIds.length - 1;
        const ours = await forward(model, sample);
        const input = {
          inputIds: [...sample.expandedIds],
          pixelValues: sample.image.pixelValues,
          imageSize: [sample.image.height, sample.image.width] as [number, number],
          anyres: {
            patches: sample.image.anyres!.patches.map((p) => p.pixelValues),
            originalSize: [sample.image.anyres!.imageSize.height, sample.image.anyres!.imageSize.width] as [
              number,
              number,
            ],
          },
        };
        expect(maxRelativeError(ours.lastLogits, referenceRun(sample).logits[last])).toBeLessThan(TOLERANCE);
        expect(maxRelativeError(ours.lastLogits, plain.forward(input).logits[last])).toBeGreaterThan(1e-2);
      } finally {
        await rm(plainDir, { recursive: true, force: true });
      }
    },
  );

  it('reports a variable token count and the base grid in info()', () => {
    expect(model.info()).toMatchObject({
      modelType: 'llava_next',
      imageTokensPerImage: null,
      imageGrid: { rows: 4, cols: 4, leadingTokens: 0 },
    });
  });
});

describe('LLaVA-NeXT bad configs', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fusionscope-next-bad-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const base: TinyLlavaOptions = { seed: 23, dtype: 'F32', layout: 'modern', llavaNext: {} };
  const image = lcgImage(1, 60, 30);
  const question = { kind: 'question', text: 'what' } as const;

  it('a checkpoint without image_newline fails to open, naming the tensor', async () => {
    const dir = join(root, 'no-newline');
    await writeTinyLlava(dir, { ...base, llavaNext: { omitImageNewline: true } });
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toThrow(
      /1 weight problem\(s\):\n {2}missing tensor "model.image_newline" \(expected shape \[64\]\)/,
    );
  });

  it('config.json pinpoints that are not whole tiles fail to open', async () => {
    const dir = join(root, 'ragged');
    await writeTinyLlava(dir, base);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ ...config, image_grid_pinpoints: [[28, 50]] }),
    );
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toThrow(
      'config.json.image_grid_pinpoints[0] must be a [height, width] pair of multiples of vision_config.image_size (28), got [28,50]',
    );
  });

  it('processor pinpoints that differ from the model’s, or a CLIP processor, are BAD_CONFIG on the first image', async () => {
    const dir = join(root, 'mismatch');
    await writeTinyLlava(dir, base);
    const path = join(dir, 'preprocessor_config.json');
    const processor = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...processor, image_grid_pinpoints: [[28, 56]] }));
    const mismatched = await openModel(dir, { provider: 'cpu' });
    try {
      await expect(prepareSample(mismatched, { image, prompt: question })).rejects.toThrow(
        /config.json image_grid_pinpoints \[\[28,56\],\[56,28\],.*\] differ from .*preprocessor_config.json's \[\[28,56\]\]/,
      );
    } finally {
      await mismatched.close();
    }
    const { image_grid_pinpoints: _, ...clip } = processor;
    await writeFile(path, JSON.stringify({ ...clip, image_processor_type: 'CLIPImageProcessor' }));
    const withClip = await openModel(dir, { provider: 'cpu' });
    try {
      await expect(prepareSample(withClip, { image, prompt: question })).rejects.toThrow(
        'an any-resolution model needs a LlavaNextImageProcessor, but the image was prepared by CLIPImageProcessor',
      );
    } finally {
      await withClip.close();
    }
  });
});
