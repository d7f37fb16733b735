/**
 * The ONNX engine against the independent float64 reference (native-models/reference) on tiny random
 * checkpoints in Hugging Face layout. Tolerance: 1e-4 relative to the largest magnitude of the compared
 * quantity (float32 compute vs float64 loops on O(1) activations leaves ~1e-6; 1e-4 is the bar).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ReferenceLlava } from '../../../native-models/reference/llava.ts';
import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import { lcgImage } from '../../../native-models/testing/random.ts';
import { writeTinyLlava, type TinyLlavaOptions } from '../../../native-models/testing/tinyLlava.ts';
import type { Intervention } from '../../common/interventions.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import {
  decoderContext,
  embedSample,
  forward,
  logitsFor,
  planFor,
  prepareSample,
  type PreparedSample,
} from './forward.ts';
import { runDecoder } from './decoder.ts';
import { expectLastRowMatch, rowsToImageAttention, withoutFinalEos } from './fidelity.testing.ts';
import { generate } from './generate.ts';

const TOLERANCE = 1e-4;

interface Variant {
  readonly name: string;
  readonly options: TinyLlavaOptions;
}

const VARIANTS: Variant[] = [
  {
    name: 'F32, MHA, legacy keys, single file',
    options: { seed: 1, dtype: 'F32', layout: 'legacy', text: { kvHeads: 4 } },
  },
  {
    name: 'F16, GQA, modern keys, 3 shards',
    options: { seed: 2, dtype: 'F16', layout: 'modern', shards: 3 },
  },
  {
    name: 'BF16, GQA, "full" strategy, two feature layers, tied embeddings, chat template',
    options: {
      seed: 3,
      dtype: 'BF16',
      layout: 'modern',
      visionFeatureLayer: [-2, -1],
      visionFeatureSelectStrategy: 'full',
      text: { tieWordEmbeddings: true },
      chatTemplate: true,
      imageProcessor: 'LlavaImageProcessor',
    },
  },
  {
    name: 'VIP-LLaVA, F32, legacy keys, feature layers [-2, -4, 1]',
    options: { seed: 4, dtype: 'F32', layout: 'legacy', vipllava: true },
  },
  {
    name: 'VIP-LLaVA, F16, modern keys, 2 shards, four of five vision states, projector eps 1e-3',
    options: {
      seed: 5,
      dtype: 'F16',
      layout: 'modern',
      shards: 2,
      vipllava: true,
      vision: { layers: 4 },
      visionFeatureLayer: [-1, -3, 0, 2],
      projectorLayerNormEps: 1e-3,
    },
  },
  {
    name: 'VIP-LLaVA, BF16, modern keys, one int feature layer, tied embeddings',
    options: {
      seed: 6,
      dtype: 'BF16',
      layout: 'modern',
      vipllava: true,
      visionFeatureLayer: -2,
      text: { tieWordEmbeddings: true },
    },
  },
];

const INTERVENTIONS: Array<[string, Intervention[]]> = [
  ['none', []],
  ['knockout at layer 1, all image tokens', [{ mode: 'knockout', layers: [1] }]],
  ['knockout at layers 0 and 2, a token subset', [{ mode: 'knockout', layers: [0, 2], tokens: [0, 3, 5] }]],
  ['hidden zero at layer 1', [{ mode: 'hidden', layers: [1] }]],
  [
    'knockout of the question rows only (image → question flow) at layers 0 and 1',
    [{ mode: 'knockout', layers: [0, 1], queries: 'question' }],
  ],
  ['knockout of the answer position only at layer 2', [{ mode: 'knockout', layers: [2], queries: 'last' }]],
  ['knockout in head 1 only at layers 0 and 2', [{ mode: 'knockout', layers: [0, 2], heads: [1] }]],
  [
    'attention weights × 0.2 in heads 0 and 2 at layer 1, a token subset',
    [{ mode: 'attention', layers: [1], heads: [2, 0], tokens: [1, 4], scale: 0.2 }],
  ],
  [
    'attention weights × 0.1 at layer 1 on a subset, with knockout at layer 2',
    [
      { mode: 'attention', layers: [1], tokens: [0, 3, 5], scale: 0.1 },
      { mode: 'knockout', layers: [2], tokens: [1] },
    ],
  ],
  [
    'hidden 0.1 at layers 0 and 2 on a subset',
    [{ mode: 'hidden', layers: [0, 2], tokens: [1, 2, 7], scale: 0.1 }],
  ],
];

describe.each(VARIANTS)('engine vs float64 reference: $name', ({ options }) => {
  let dir: string;
  let model: LoadedModel;
  let reference: ReferenceLlava;
  let sample: PreparedSample;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fusionscope-fidelity-'));
    await writeTinyLlava(dir, options);
    model = await openModel(dir, { provider: 'cpu' });
    reference = await ReferenceLlava.load(dir);
    sample = await prepareSample(model, {
      image: lcgImage(options.seed, 40, 30),
      prompt: { kind: 'question', text: 'what color is the shape left of the square' },
    });
  });

  afterAll(async () => {
    await model?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const referenceRun = (interventions: Intervention[], readoutRows?: number[]) =>
    reference.forward({
      inputIds: [...sample.expandedIds],
      pixelValues: sample.image.pixelValues,
      imageSize: [sample.image.height, sample.image.width],
      interventions,
      readoutRows,
    });

  it.each(INTERVENTIONS)(
    'logits, attention and hidden states match with intervention: %s',
    async (_, interventions) => {
      const ours = await forward(model, sample, { interventions });
      const ref = referenceRun(interventions);
      expect(ref.imageTokenSpan).toEqual(sample.imageTokenSpan);
      expectLastRowMatch(ours, ref, sample.imageTokenSpan, model.spec.decoder.heads, TOLERANCE);
    },
  );

  it('replacing the image tokens’ states by another image’s (resample / mean fills) matches', async () => {
    // The donor's states at every layer's input over the image span, as the sweep's fills take them.
    const donor = await prepareSample(model, {
      image: lcgImage(options.seed + 100, 30, 40),
      prompt: sample.prompt,
    });
    const pass = (await forward(model, donor, { keepCache: true })).cache!.pass;
    const D = model.spec.decoder.hiddenSize;
    const [start, end] = donor.imageTokenSpan;
    const replacement = new Map(
      pass.layerInputs.map((rows, layer) => [layer, rows!.slice(start * D, end * D)] as const),
    );
    const unmasked = await forward(model, sample);
    for (const interventions of [
      [{ mode: 'hidden', layers: [1], replacement }],
      [{ mode: 'hidden', layers: [0, 2], tokens: [1, 2, 7], replacement }],
      [
        { mode: 'hidden', layers: [0], tokens: [0, 3], replacement },
        { mode: 'knockout', layers: [2], tokens: [1] },
      ],
    ] as Intervention[][]) {
      const ours = await forward(model, sample, { interventions });
      expectLastRowMatch(
        ours,
        referenceRun(interventions),
        sample.imageTokenSpan,
        model.spec.decoder.heads,
        TOLERANCE,
      );
      // The edit must change the answer position, or matching would prove nothing about it.
      expect(maxRelativeError(ours.lastLogits, unmasked.lastLogits)).toBeGreaterThan(1e-3);
    }
  });

  it('reads attention from every question position when asked', async () => {
    const ours = await forward(model, sample, { attentionRows: 'question' });
    const rows = ours.attentionRows as number[];
    expect(rows[0]).toBe(sample.imageTokenSpan[1]);
    const ref = referenceRun([], rows);
    const expected = rowsToImageAttention(
      ref.attention[1],
      rows.length,
      sample.imageTokenSpan,
      model.spec.decoder.heads,
    );
    expect(maxRelativeError(ours.attention[1], expected)).toBeLessThan(TOLERANCE);
  });

  it('greedy generation with the KV cache yields the reference tokens, with and without masking', async () => {
    for (const interventions of [[], [{ mode: 'knockout', layers: [0, 1] }] as Intervention[]]) {
      const ours = await generate(model, sample, { maxNewTokens: 6, interventions });
      const ref = reference.generate(
        {
          inputIds: [...sample.expandedIds],
          pixelValues: sample.image.pixelValues,
          imageSize: [sample.image.height, sample.image.width],
          interventions,
        },
        { maxNewTokens: 6, eosTokenId: model.eosTokenIds[0] },
      );
      // The reference returns the eos token when it stops; the engine stops before emitting it.
      const eos = model.eosTokenIds[0];
      expect(ours.tokenIds).toEqual(withoutFinalEos(ref, eos));
      expect(ours.tokenIds.length).toBeGreaterThan(0);
    }
  });

  it('knockout at every layer equals deleting the image keys for later positions', async () => {
    const all = Array.from({ length: model.spec.decoder.layers }, (_, l) => l);
    const knocked = await forward(model, sample, { interventions: [{ mode: 'knockout', layers: all }] });
    // Delete instead: cache only the positions before the image, then run the question rows at their
    // original rotary positions, so the image keys simply do not exist for them.
    const embeds = await embedSample(model, sample);
    const D = model.spec.decoder.hiddenSize;
    const [start, end] = sample.imageTokenSpan;
    const total = sample.expandedIds.length;
    const ctx = decoderContext(model);
    const none = planFor(model, sample);
    const prefix = await runDecoder(ctx, {
      startLayer: 0,
      hidden: embeds.slice(0, start * D),
      offset: 0,
      past: [],
      plan: none,
      readoutRows: [0],
    });
    const question = await runDecoder(ctx, {
      startLayer: 0,
      hidden: embeds.slice(end * D),
      offset: start,
      ropePositions: [Array.from({ length: total - end }, (_, i) => end + i)],
      past: prefix.present,
      plan: none,
      readoutRows: [0],
    });
    const deleted = await logitsFor(model, question.hidden, [total - end - 1]);
    expect(maxRelativeError(knocked.lastLogits, deleted)).toBeLessThan(1e-5);
  });
});
