/**
 * Qwen2-VL and Qwen2.5-VL: the ONNX engine (its Qwen2VLImageProcessor, prompt expansion, M-RoPE
 * positions, vision graphs with their grid inputs, decoder) against the float64 reference
 * (native-models/reference/qwen2vl.ts: its own smart_resize, patch flattening, vision tower, windows,
 * get_rope_index and M-RoPE) on tiny random checkpoints in Hugging Face layout, for square, wide, tall
 * images and both smart_resize budget branches. Tolerance 1e-4 relative, as fidelity.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ReferenceQwen } from '../../../native-models/reference/qwen2vl.ts';
import { recipeImage } from '../../../native-models/reference/qwenTorchFixture.ts';
import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import { rewriteCheckpoint } from '../../../native-models/testing/rewrite.ts';
import {
  qwenChatPrompt,
  writeTinyQwen,
  type TinyQwenOptions,
} from '../../../native-models/testing/tinyQwen.ts';
import type { Intervention } from '../../common/interventions.ts';
import { resizeImage } from '../image/index.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import {
  expectImageEmbedsMatch,
  expectLastRowMatch,
  rowsToImageAttention,
  withoutFinalEos,
} from './fidelity.testing.ts';
import { forward, prepareSample, type PreparedSample } from './forward.ts';
import { generate } from './generate.ts';

const TOLERANCE = 1e-4;
const QUESTION = 'what color is the shape left of the square';

const VARIANTS: Array<{ name: string; options: TinyQwenOptions }> = [
  {
    name: 'Qwen2-VL, F32, legacy keys, text_config layout, GQA 4/2',
    options: { family: 'qwen2_vl', seed: 31, dtype: 'F32', layout: 'legacy' },
  },
  {
    name: 'Qwen2-VL, BF16, modern keys, flat legacy config, MHA, tied embeddings, rope_theta 100',
    options: {
      family: 'qwen2_vl',
      seed: 32,
      dtype: 'BF16',
      layout: 'modern',
      configLayout: 'legacy',
      text: { kvHeads: 4, tieWordEmbeddings: true, ropeTheta: 100, mropeSection: [3, 2, 3] },
    },
  },
  {
    name: 'Qwen2.5-VL, F32, modern keys, 2x2-token windows, full attention in blocks 1 and 3',
    options: { family: 'qwen2_5_vl', seed: 33, dtype: 'F32', layout: 'modern', text: { ropeTheta: 100 } },
  },
  {
    name: 'Qwen2.5-VL, F16, legacy keys, flat config, one-token windows, full attention in block 0 only',
    options: {
      family: 'qwen2_5_vl',
      seed: 34,
      dtype: 'F16',
      layout: 'legacy',
      configLayout: 'legacy',
      text: { kvHeads: 1, layers: 3 },
      vision: { windowSize: 8, fullAttBlockIndexes: [0], depth: 3 },
    },
  },
  {
    // The hub's patch geometry: 14 px patches, 28 px merged tokens, 56 px windows (2 x 2 tokens);
    // vision head_dim 16. Budget 4 to ~8 tokens' worth, so every size below is resized.
    name: 'Qwen2.5-VL, F32, patch 14, 56 px windows, min_pixels 3136, max_pixels 6000',
    options: {
      family: 'qwen2_5_vl',
      seed: 35,
      dtype: 'F32',
      layout: 'modern',
      vision: { patchSize: 14, windowSize: 56, heads: 2 },
      minPixels: 4 * 28 * 28,
      maxPixels: 6000,
    },
  },
];

/** [width, height]: square, wide, tall, over max_pixels (shrunk), under min_pixels (grown). */
const SIZES: Array<[string, number, number]> = [
  ['square 40x40', 40, 40],
  ['wide 56x28', 56, 28],
  ['tall 30x70', 30, 70],
  ['large 120x90 (over max_pixels)', 120, 90],
  ['small 9x11 (under min_pixels)', 9, 11],
];

const INTERVENTIONS: Array<[string, (n: number) => Intervention[]]> = [
  ['none', () => []],
  ['knockout at layer 1, all image tokens', () => [{ mode: 'knockout', layers: [1] }]],
  [
    'knockout at layers 0 and 2, a token subset',
    (n) => [{ mode: 'knockout', layers: [0, 2], tokens: [0, 3, n - 1] }],
  ],
  ['hidden zero at layer 1', () => [{ mode: 'hidden', layers: [1] }]],
  [
    'hidden 0.1 at layers 0 and 2 on a subset',
    (n) => [{ mode: 'hidden', layers: [0, 2], tokens: [1, Math.floor(n / 2), n - 2], scale: 0.1 }],
  ],
];

describe.each(VARIANTS)('Qwen engine vs float64 reference: $name', ({ options }) => {
  let dir: string;
  let model: LoadedModel;
  let reference: ReferenceQwen;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fusionscope-qwen-fidelity-'));
    await writeTinyQwen(dir, options);
    model = await openModel(dir, { provider: 'cpu' });
    reference = await ReferenceQwen.load(dir, resizeImage);
  });

  afterAll(async () => {
    await model?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const imageOf = (w: number, h: number) => recipeImage({ seed: w * 7 + h, width: w, height: h });
  const prepare = (w: number, h: number) =>
    prepareSample(model, { image: imageOf(w, h), prompt: { kind: 'question', text: QUESTION } });
  const referenceRun = (sample: PreparedSample, interventions: Intervention[] = [], readoutRows?: number[]) =>
    reference.forward({ inputIds: [...sample.inputIds], image: sample.source, interventions, readoutRows });

  it.each(SIZES)(
    '%s: chat prompt, patches, expansion, positions and image features match',
    async (_, w, h) => {
      const sample = await prepare(w, h);
      expect(sample.text).toBe(qwenChatPrompt(QUESTION));
      const ref = referenceRun(sample);
      const patches = sample.image.patches!;
      expect({ t: patches.t, h: patches.h, w: patches.w }).toEqual(ref.patches.grid);
      expect(maxRelativeError(patches.values, ref.patches.values)).toBeLessThan(1e-6);
      expect(sample.expandedIds).toEqual(ref.expandedIds);
      expect(sample.imageTokenSpan).toEqual(ref.imageTokenSpan);
      expect(sample.positions.streams).toEqual(ref.positions);
      await expectImageEmbedsMatch(model, sample, ref.imageFeatures, TOLERANCE);
    },
  );

  describe.each(SIZES.slice(0, 4))('%s', (_, w, h) => {
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

  it('two images (as the contrast’s crop refinements feed): spans, positions and outputs match', async () => {
    const second = imageOf(24, 44);
    const sample = await prepareSample(model, {
      image: imageOf(56, 28),
      extraImages: [second],
      prompt: { kind: 'question', text: QUESTION },
    });
    expect(sample.text.split('<|vision_start|><|image_pad|><|vision_end|>')).toHaveLength(3);
    for (const interventions of [
      [],
      [{ mode: 'knockout', layers: [1] }],
      [{ mode: 'hidden', layers: [0] }],
    ] as Intervention[][]) {
      const ref = reference.forward({
        inputIds: [...sample.inputIds],
        image: sample.source,
        extraImages: [second],
        interventions,
      });
      expect(sample.expandedIds).toEqual(ref.expandedIds);
      expect(sample.imageTokenSpans).toEqual(ref.imageTokenSpans);
      expect(sample.positions.streams).toEqual(ref.positions);
      const ours = await forward(model, sample, { interventions });
      expectLastRowMatch(ours, ref, sample.imageTokenSpan, model.spec.decoder.heads, TOLERANCE);
    }
  });

  it('reads attention from every question position when asked', async () => {
    const sample = await prepare(56, 28);
    const ours = await forward(model, sample, { attentionRows: 'question' });
    const rows = ours.attentionRows as number[];
    const ref = referenceRun(sample, [], rows);
    const expected = rowsToImageAttention(
      ref.attention[2],
      rows.length,
      sample.imageTokenSpan,
      model.spec.decoder.heads,
    );
    expect(maxRelativeError(ours.attention[2], expected)).toBeLessThan(TOLERANCE);
  });

  it('greedy generation (M-RoPE positions continuing after the prompt) yields the reference tokens', async () => {
    const sample = await prepare(30, 70);
    for (const interventions of [[], [{ mode: 'knockout', layers: [0, 1] }]] as Intervention[][]) {
      const ours = await generate(model, sample, { maxNewTokens: 5, interventions });
      const eos = [...model.eosTokenIds];
      const ref = reference.generate(
        { inputIds: [...sample.inputIds], image: sample.source, interventions },
        { maxNewTokens: 5, eosTokenIds: eos },
      );
      expect(ours.tokenIds).toEqual(withoutFinalEos(ref, eos));
      expect(ours.tokenIds.length).toBeGreaterThan(0);
    }
  });

  // The oracle must be able to tell: an edited config moves the reference well away from the engine.
  const bites: Array<[string, (config: Record<string, unknown>) => void]> = [
    [
      'mrope_section (which frequencies follow height and width)',
      (config) => {
        const text = (config.text_config ?? config) as { rope_scaling: { mrope_section: number[] } };
        const [t, h, w] = text.rope_scaling.mrope_section;
        text.rope_scaling.mrope_section = [h, w, t];
      },
    ],
  ];
  if (options.family === 'qwen2_5_vl') {
    bites.push([
      'the windows (full attention in every block instead)',
      (config) => {
        const vision = config.vision_config as { depth: number; fullatt_block_indexes: number[] };
        vision.fullatt_block_indexes = Array.from({ length: vision.depth }, (_, i) => i);
      },
    ]);
  }
  it.each(bites)(
    '%s matters: the engine follows the checkpoint’s reference, not the edited one',
    async (_, edit) => {
      const edited = `${dir}-edited`;
      await rewriteCheckpoint(dir, edited, { config: edit });
      try {
        const other = await ReferenceQwen.load(edited, resizeImage);
        const sample = await prepare(30, 70);
        const ours = await forward(model, sample);
        const last = sample.expandedIds.length - 1;
        const input = { inputIds: [...sample.inputIds], image: sample.source };
        expect(maxRelativeError(ours.lastLogits, reference.forward(input).logits[last])).toBeLessThan(
          TOLERANCE,
        );
        expect(maxRelativeError(ours.lastLogits, other.forward(input).logits[last])).toBeGreaterThan(1e-3);
      } finally {
        await rm(edited, { recursive: true, force: true });
      }
    },
  );
});
