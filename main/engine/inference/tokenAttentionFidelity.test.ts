/**
 * Per-generated-token attention against the independent float64 reference (native-models/reference):
 * the reference runs the whole sequence, prompt + generated tokens, without a cache, and reads out
 * the rows that chose each token (the last prompt position, then each generated token's position but
 * the last). Our maps come from the KV-cached decoding steps. Tolerance: 1e-4 relative to the largest
 * probability compared, the fidelity tests' bar (float32 graphs vs float64 loops leave ~1e-6).
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
import { rowsToImageAttention, withoutFinalEos } from './fidelity.testing.ts';
import { forward, prepareSample, type PreparedSample } from './forward.ts';
import { generate } from './generate.ts';

const TOLERANCE = 1e-4;
const MAX_NEW_TOKENS = 5;

const VARIANTS: Array<{ name: string; options: TinyLlavaOptions }> = [
  { name: 'F32, MHA', options: { seed: 31, dtype: 'F32', layout: 'legacy', text: { kvHeads: 4 } } },
  {
    name: 'BF16, GQA, chat template',
    options: { seed: 32, dtype: 'BF16', layout: 'modern', chatTemplate: true },
  },
];

// Masks whose query set means the same on a longer sequence ('all' covers every position after the
// image, generated ones included, in both implementations).
const INTERVENTIONS: Array<[string, Intervention[]]> = [
  ['none', []],
  ['knockout at layer 1', [{ mode: 'knockout', layers: [1] }]],
  [
    'attention × 0.2 at layers 0 and 2, heads 1 and 3',
    [{ mode: 'attention', layers: [0, 2], heads: [1, 3], scale: 0.2 }],
  ],
  ['hidden × 0 at layer 0 on a token subset', [{ mode: 'hidden', layers: [0], tokens: [0, 2, 5, 9] }]],
];

describe.each(VARIANTS)('per-generated-token attention vs float64 reference: $name', ({ options }) => {
  let dir: string;
  let model: LoadedModel;
  let reference: ReferenceLlava;
  let sample: PreparedSample;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fusionscope-token-attention-'));
    await writeTinyLlava(dir, options);
    model = await openModel(dir, { provider: 'cpu' });
    reference = await ReferenceLlava.load(dir);
    sample = await prepareSample(model, {
      image: lcgImage(options.seed, 36, 30),
      prompt: { kind: 'question', text: 'which shape is left of the red square' },
    });
  });

  afterAll(async () => {
    await model?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(INTERVENTIONS)('each token’s rows match the reference, with mask: %s', async (_, interventions) => {
    const ours = await generate(model, sample, {
      maxNewTokens: MAX_NEW_TOKENS,
      interventions,
      tokenAttention: true,
    });
    const input = {
      inputIds: [...sample.expandedIds],
      pixelValues: sample.image.pixelValues,
      imageSize: [sample.image.height, sample.image.width] as [number, number],
      interventions,
    };
    // The tokens first: the maps are only comparable on the same sequence.
    const refTokens = reference.generate(input, {
      maxNewTokens: MAX_NEW_TOKENS,
      eosTokenId: model.eosTokenIds[0],
    });
    expect(ours.tokenIds).toEqual(withoutFinalEos(refTokens, model.eosTokenIds[0]));
    // A test of several steps, not just the prompt's last row.
    expect(ours.tokenIds.length).toBeGreaterThanOrEqual(3);
    const maps = ours.tokenAttention!;
    expect(maps).toHaveLength(ours.tokenIds.length);

    const length = sample.expandedIds.length;
    const rows = ours.tokenIds.map((_t, i) => length - 1 + i);
    const ref = reference.forward({
      ...input,
      inputIds: [...sample.expandedIds, ...ours.tokenIds.slice(0, -1)],
      readoutRows: rows,
    });
    const { heads, layers } = model.spec.decoder;
    const n = sample.imageTokenSpan[1] - sample.imageTokenSpan[0];
    for (let layer = 0; layer < layers; layer++) {
      // [heads, rows, n] → per row [heads, n], as the engine keeps it.
      const all = rowsToImageAttention(ref.attention[layer], rows.length, sample.imageTokenSpan, heads);
      rows.forEach((_r, i) => {
        const expected = new Float64Array(heads * n);
        for (let h = 0; h < heads; h++) {
          expected.set(all.subarray((h * rows.length + i) * n, (h * rows.length + i + 1) * n), h * n);
        }
        expect(maps[i][layer]).toHaveLength(heads * n);
        expect(maxRelativeError(maps[i][layer], expected), `token ${i}, layer ${layer}`).toBeLessThan(
          TOLERANCE,
        );
      });
    }
  });

  it('maps differ from token to token, and the first is the prompt’s last row', async () => {
    const ours = await generate(model, sample, { maxNewTokens: MAX_NEW_TOKENS, tokenAttention: true });
    const maps = ours.tokenAttention!;
    const last = model.spec.decoder.layers - 1;
    expect(maxRelativeError(maps[1][last], maps[0][last])).toBeGreaterThan(1e-3);
    const prompt = await forward(model, sample);
    expect(maxRelativeError(maps[0][last], prompt.attention[last])).toBeLessThan(1e-6);
  });

  it('keeps nothing unless asked, and the same tokens either way', async () => {
    const plain = await generate(model, sample, { maxNewTokens: MAX_NEW_TOKENS });
    const traced = await generate(model, sample, { maxNewTokens: MAX_NEW_TOKENS, tokenAttention: true });
    expect(plain.tokenAttention).toBeUndefined();
    expect(traced.tokenIds).toEqual(plain.tokenIds);
  });
});
