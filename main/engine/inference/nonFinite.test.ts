/**
 * Finite weights can still overflow in the activations (here a final norm scaled to 1e38): the
 * logits are then NaN/Inf, which must fail the sample with its cause instead of scoring as an answer
 * (before, `answer` printed an empty line and exited 0, and a sweep recorded scores).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { lcgImage } from '../../../native-models/testing/random.ts';
import { rewriteCheckpoint } from '../../../native-models/testing/rewrite.ts';
import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { forward, prepareSample } from './forward.ts';
import { generate } from './generate.ts';

let root: string;
let model: LoadedModel;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-nonfinite-'));
  await writeTinyLlava(join(root, 'plain'), { seed: 51, dtype: 'F32', layout: 'legacy' });
  await rewriteCheckpoint(join(root, 'plain'), join(root, 'overflow'), {
    tensors: (tensors) => {
      const norm = tensors.get('language_model.model.norm.weight')!;
      norm.data = norm.data.map(() => 1e38);
    },
  });
  model = await openModel(join(root, 'overflow'), { provider: 'cpu' });
});

afterAll(async () => {
  await model?.close();
  await rm(root, { recursive: true, force: true });
});

describe('non-finite logits', () => {
  it('fail forward and generation with the cause, instead of an answer', async () => {
    const sample = await prepareSample(model, {
      image: lcgImage(2, 32, 32),
      prompt: { kind: 'question', text: 'what color' },
    });
    const message =
      /non-finite logits \(NaN\/Inf; first at vocabulary index \d+\): the residual stream is finite, so the final norm or the vocabulary projection overflowed/;
    await expect(forward(model, sample)).rejects.toMatchObject({ code: 'RUNTIME' });
    await expect(forward(model, sample)).rejects.toThrow(message);
    await expect(generate(model, sample, { maxNewTokens: 3 })).rejects.toThrow(message);
  });
});
