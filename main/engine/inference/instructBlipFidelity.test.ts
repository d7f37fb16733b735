/**
 * The ONNX engine on InstructBLIP checkpoints against the oracles:
 *   - the float64 reference (native-models/reference/instructblip.ts) on tiny random checkpoints in
 *     Hugging Face layout (several query counts, cross-attention frequencies and Q-Former depths, F32
 *     and BF16: the reference reads the same rounded weights), ≤ 1e-4 relative for the last-position
 *     logits, attention to the query rows and hidden states under every intervention, and for the
 *     vision graph's image_features and qformer_cross_attention; greedy answers equal;
 *   - the PyTorch oracle's fixture (weights the TypeScript writer never drew), ≤ 1e-3, from the RGB
 *     image and the raw prompt through both tokenizers and the BlipImageProcessor.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { VISION_IO } from '../../../native-models/architectures/contract.ts';
import {
  INSTRUCTBLIP_FIXTURE_MODEL,
  fixtureImage,
  readInstructBlipFixture,
} from '../../../native-models/reference/instructBlipFixture.ts';
import {
  ReferenceInstructBlip,
  blipPixelValues,
  flattenCrossAttention,
  readBlipProcessor,
} from '../../../native-models/reference/instructblip.ts';
import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import { lcgImage } from '../../../native-models/testing/random.ts';
import {
  writeTinyInstructBlip,
  type TinyInstructBlipOptions,
} from '../../../native-models/testing/tinyInstructBlip.ts';
import { buildTinyTokenizer, encodeTiny } from '../../../native-models/testing/tinyTokenizer.ts';
import { FusionError } from '../../common/errors.ts';
import type { Intervention } from '../../common/interventions.ts';
import { qformerInputIds } from '../imageTokens/queries.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import {
  expectLastRowMatch,
  expectTorchRunMatch,
  rowsToImageAttention,
  withoutFinalEos,
} from './fidelity.testing.ts';
import { forward, prepareSample, type PreparedSample } from './forward.ts';
import { generate } from './generate.ts';

const TOLERANCE = 1e-4;
const TORCH_TOLERANCE = 1e-3;

const VARIANTS: Array<{ name: string; options: TinyInstructBlipOptions; cross: number }> = [
  {
    name: 'F32, 4 queries, Q-Former 2 layers, cross-attention every 2nd (layer 0)',
    options: { seed: 11, dtype: 'F32', queries: 4 },
    cross: 1,
  },
  {
    name: 'BF16, 8 queries, Q-Former 3 layers, cross-attention in every layer',
    options: { seed: 12, dtype: 'BF16', queries: 8, qformer: { layers: 3, crossAttentionFrequency: 1 } },
    cross: 3,
  },
  {
    name: 'F32, 6 queries, Q-Former 4 layers every 2nd (0, 2), narrow 3-head tower, tied embeddings, MHA',
    options: {
      seed: 13,
      dtype: 'F32',
      queries: 6,
      vision: { hiddenSize: 24, heads: 3, imageSize: 24, patchSize: 4 },
      qformer: { layers: 4, crossAttentionFrequency: 2, heads: 2 },
      text: { tieWordEmbeddings: true, kvHeads: 4 },
    },
    cross: 2,
  },
];

const INTERVENTIONS: Array<[string, Intervention[]]> = [
  ['none', []],
  ['knockout at layer 1, every query row', [{ mode: 'knockout', layers: [1] }]],
  ['knockout at layers 0 and 2, query rows 0 and 3', [{ mode: 'knockout', layers: [0, 2], tokens: [0, 3] }]],
  ['hidden zero at layer 1', [{ mode: 'hidden', layers: [1] }]],
  [
    'hidden 0.1 at layers 0 and 2 on rows 1 and 2',
    [{ mode: 'hidden', layers: [0, 2], tokens: [1, 2], scale: 0.1 }],
  ],
];

describe.each(VARIANTS)('InstructBLIP engine vs float64 reference: $name', ({ options, cross }) => {
  let dir: string;
  let model: LoadedModel;
  let reference: ReferenceInstructBlip;
  let sample: PreparedSample;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fusionscope-instructblip-'));
    await writeTinyInstructBlip(dir, options);
    model = await openModel(dir, { provider: 'cpu' });
    reference = await ReferenceInstructBlip.load(dir);
    sample = await prepareSample(model, {
      // Not the processor's size: the engine's BlipImageProcessor resizes it (the reference reads its output).
      image: lcgImage(options.seed, 40, 30),
      prompt: { kind: 'question', text: 'What is the colour of the square left of the circle?' },
    });
  });

  afterAll(async () => {
    await model?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const referenceInput = (interventions: Intervention[] = []) => ({
    inputIds: [...sample.expandedIds],
    pixelValues: sample.image.pixelValues,
    qformerInputIds: qformerInputIds(sample),
    interventions,
  });

  it('puts the query tokens before BOS and tokenizes the prompt for the Q-Former too', () => {
    const queries = options.queries!;
    expect(sample.imageTokenSpan).toEqual([0, queries]);
    expect(sample.expandedIds[queries]).toBe(1);
    expect(sample.expandedIds.slice(0, queries).every((id) => id === model.spec.imageTokenId)).toBe(true);
    // [CLS] what is the col ##our of the square left of the circle ? [SEP]
    expect(qformerInputIds(sample)).toEqual([2, 78, 79, 80, 97, 98, 81, 80, 86, 84, 81, 80, 87, 7, 3]);
  });

  it('gives the reference’s image features and Q-Former cross-attention from the vision graph', async () => {
    const out = await model.sessions.vision.run(
      model.imageTokens.visionInputs(sample.image, sample.schemeState),
    );
    const expected = reference.imageFeatures(sample.image.pixelValues, qformerInputIds(sample));
    const crossOut = out[VISION_IO.qformerCrossAttention];
    const grid = (options.vision?.imageSize ?? 32) / (options.vision?.patchSize ?? 8);
    expect(crossOut.dims).toEqual([cross, options.qformer?.heads ?? 4, options.queries, 1 + grid * grid]);
    expect(maxRelativeError(crossOut.data, flattenCrossAttention(expected.crossAttention))).toBeLessThan(
      TOLERANCE,
    );
    const features = expected.features.flatMap((f) => Array.from(f));
    expect(maxRelativeError(out[VISION_IO.features].data, features)).toBeLessThan(TOLERANCE);
  });

  it.each(INTERVENTIONS)(
    'logits, query attention and hidden states match with intervention: %s',
    async (_, interventions) => {
      const ours = await forward(model, sample, { interventions });
      const ref = reference.forward(referenceInput(interventions));
      expect(ref.imageTokenSpan).toEqual(sample.imageTokenSpan);
      expectLastRowMatch(ours, ref, sample.imageTokenSpan, model.spec.decoder.heads, TOLERANCE);
    },
  );

  it('reads attention from every question position (BOS onwards) to the query rows', async () => {
    const ours = await forward(model, sample, { attentionRows: 'question' });
    const rows = ours.attentionRows as number[];
    expect(rows[0]).toBe(options.queries);
    const ref = reference.forward({ ...referenceInput(), readoutRows: rows });
    const { heads, layers } = model.spec.decoder;
    for (let l = 0; l < layers; l++) {
      const expected = rowsToImageAttention(ref.attention[l], rows.length, sample.imageTokenSpan, heads);
      expect(maxRelativeError(ours.attention[l], expected), `layer ${l}`).toBeLessThan(TOLERANCE);
    }
  });

  it('the interventions bite', async () => {
    const plain = await forward(model, sample);
    for (const [name, interventions] of INTERVENTIONS.slice(1)) {
      const edited = await forward(model, sample, { interventions });
      expect(maxRelativeError(edited.lastLogits, plain.lastLogits), name).toBeGreaterThan(1e-3);
    }
  });

  it('greedy generation with the KV cache yields the reference tokens, with and without masking', async () => {
    for (const interventions of [[], [{ mode: 'knockout', layers: [0, 1] }] as Intervention[]]) {
      const ours = await generate(model, sample, { maxNewTokens: 5, interventions });
      const eos = model.eosTokenIds[0];
      const ref = reference.generate(referenceInput(interventions), { maxNewTokens: 5, eosTokenId: eos });
      expect(ours.tokenIds).toEqual(withoutFinalEos(ref, eos));
    }
  });
});

describe('InstructBLIP without image_token_index (legacy config): queries concatenated before the text', () => {
  let dir: string;
  let model: LoadedModel;
  let reference: ReferenceInstructBlip;
  let sample: PreparedSample;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fusionscope-instructblip-legacy-'));
    await writeTinyInstructBlip(dir, { seed: 14, dtype: 'BF16', queries: 5, imageTokenIndex: false });
    model = await openModel(dir, { provider: 'cpu' });
    reference = await ReferenceInstructBlip.load(dir);
    sample = await prepareSample(model, {
      image: lcgImage(14, 32, 32),
      prompt: { kind: 'question', text: 'what color is the circle' },
    });
  });

  afterAll(async () => {
    await model?.close();
    await rm(dir, { recursive: true, force: true });
  });

  // The reference states the legacy forward itself: it gets the text ids only.
  const referenceInput = (interventions: Intervention[] = []) => ({
    inputIds: sample.expandedIds.slice(5),
    pixelValues: sample.image.pixelValues,
    qformerInputIds: qformerInputIds(sample),
    interventions,
  });

  it.each(INTERVENTIONS.slice(0, 4))(
    'matches the reference with intervention: %s',
    async (_, interventions) => {
      expect(sample.imageTokenSpan).toEqual([0, 5]);
      const ref = reference.forward(referenceInput(interventions));
      expect(ref.imageTokenSpan).toEqual([0, 5]);
      expectLastRowMatch(await forward(model, sample, { interventions }), ref, [0, 5], 4, TOLERANCE);
    },
  );

  it('generates the reference’s greedy answer', async () => {
    const ours = await generate(model, sample, { maxNewTokens: 5 });
    const eos = model.eosTokenIds[0];
    const ref = reference.generate(referenceInput(), { maxNewTokens: 5, eosTokenId: eos });
    expect(ours.tokenIds).toEqual(withoutFinalEos(ref, eos));
  });
});

describe('InstructBLIP prompts and preprocessing', () => {
  let dir: string;
  let model: LoadedModel;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fusionscope-instructblip-prompt-'));
    await writeTinyInstructBlip(dir, { seed: 21, dtype: 'F32' });
    model = await openModel(dir, { provider: 'cpu' });
  });

  afterAll(async () => {
    await model?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an <image> marker in a raw prompt or a question (BAD_PROMPT)', async () => {
    const image = lcgImage(1, 32, 32);
    for (const prompt of [
      { kind: 'raw', text: '<image>\nWhat is the colour?' },
      { kind: 'raw', text: 'What is <image> the colour?' },
      { kind: 'question', text: 'What is the colour of <image>?' },
    ] as const) {
      const error = await prepareSample(model, { image, prompt }).catch((e: unknown) => e);
      expect(error, prompt.text).toBeInstanceOf(FusionError);
      expect((error as FusionError).code).toBe('BAD_PROMPT');
    }
  });

  it('takes a raw prompt verbatim: queries, then BOS and its tokens', async () => {
    const sample = await prepareSample(model, {
      image: lcgImage(2, 32, 32),
      prompt: { kind: 'raw', text: 'red' },
    });
    expect(sample.expandedIds).toEqual([
      ...Array(4).fill(model.spec.imageTokenId),
      ...encodeTiny(buildTinyTokenizer(), 'red'),
    ]);
    expect(sample.expandedIds[4]).toBe(1);
    expect(qformerInputIds(sample)).toEqual([2, 89, 3]);
  });

  it('preprocesses an image at the processor size as BlipImageProcessor (rescale, normalise)', async () => {
    const image = lcgImage(3, 32, 32);
    const sample = await prepareSample(model, { image, prompt: { kind: 'raw', text: 'red' } });
    const expected = blipPixelValues(image, await readBlipProcessor(dir));
    expect(maxRelativeError(sample.image.pixelValues, expected)).toBeLessThan(1e-6);
  });
});

describe('InstructBLIP engine vs the PyTorch fixture (its own BF16 weights)', () => {
  const fixture = readInstructBlipFixture();
  let model: LoadedModel;
  let sample: PreparedSample;

  beforeAll(async () => {
    model = await openModel(INSTRUCTBLIP_FIXTURE_MODEL, { provider: 'cpu' });
    sample = await prepareSample(model, {
      image: fixtureImage(),
      prompt: { kind: 'raw', text: fixture.prompt },
    });
  });

  afterAll(async () => {
    await model?.close();
  });

  it('tokenizes as the fixture and preprocesses as BlipImageProcessor with PIL (37 × 29 → 24 × 24 bicubic)', () => {
    expect(sample.expandedIds).toEqual(fixture.inputIds);
    expect(qformerInputIds(sample)).toEqual(fixture.qformerInputIds);
    expect(sample.imageTokenSpan).toEqual(fixture.imageTokenSpan);
    expect(maxRelativeError(sample.image.pixelValues, fixture.pixelValues)).toBeLessThan(1e-6);
  });

  it('matches the query features and the Q-Former cross-attention', async () => {
    const out = await model.sessions.vision.run(
      model.imageTokens.visionInputs(sample.image, sample.schemeState),
    );
    expect(maxRelativeError(out[VISION_IO.features].data, fixture.imageFeatures.flat())).toBeLessThan(
      TORCH_TOLERANCE,
    );
    expect(
      maxRelativeError(out[VISION_IO.qformerCrossAttention].data, fixture.crossAttention.flat(3)),
    ).toBeLessThan(TORCH_TOLERANCE);
  });

  it('matches logits, query attention and hidden states for every intervention run', async () => {
    for (const run of fixture.runs) {
      const ours = await forward(model, sample, { interventions: run.interventions });
      expectTorchRunMatch(ours, run, TORCH_TOLERANCE);
    }
  });
});
