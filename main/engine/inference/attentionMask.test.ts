/**
 * Why contrastive attention's `mask` is offered in attention space (issue M2): scaling the image
 * tokens' residual stream by λ at a layer's input is undone by that layer's RMSNorm (RMSNorm(λx) =
 * RMSNorm(x) up to ε), so the keys and values later positions read there are unchanged and the layer's
 * output at the answer position barely moves; scaling their attention weights by λ (log λ on their
 * logits) changes it at once. Both checked against the unedited pass on a tiny LLaMA-based checkpoint.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { lcgImage } from '../../../native-models/testing/random.ts';
import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import type { Intervention } from '../../common/interventions.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { forward, prepareSample, type PreparedSample } from './forward.ts';

let root: string;
let model: LoadedModel;
let sample: PreparedSample;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-attention-mask-'));
  await writeTinyLlava(join(root, 'model'), { seed: 7, dtype: 'F32', layout: 'modern', text: { layers: 4 } });
  model = await openModel(join(root, 'model'), { provider: 'cpu' });
  sample = await prepareSample(model, {
    image: lcgImage(3, 32, 32),
    prompt: { kind: 'question', text: 'where' },
  });
});

afterAll(async () => {
  await model?.close();
  await rm(root, { recursive: true, force: true });
});

/** ‖a − b‖ / ‖b‖. */
function relativeChange(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

describe('masking the image at the review layer', () => {
  const LAYER = 2;
  const tokens = [0, 1, 2, 3, 4, 5, 6, 7];
  const after = async (interventions: Intervention[]) =>
    (await forward(model, sample, { interventions })).hiddenStates[LAYER];

  it('in the residual stream, barely changes the edited layer’s output at the answer position', async () => {
    const plain = await after([]);
    const residual = await after([{ mode: 'hidden', layers: [LAYER], tokens, scale: 0.1 }]);
    const attention = await after([{ mode: 'attention', layers: [LAYER], tokens, scale: 0.1 }]);
    const residualChange = relativeChange(residual, plain);
    const attentionChange = relativeChange(attention, plain);
    // RMSNorm(0.1·x) differs from RMSNorm(x) only through ε (tiny random weights: small mean squares).
    expect(residualChange).toBeLessThan(1e-3);
    expect(attentionChange).toBeGreaterThan(1e-2);
    expect(attentionChange).toBeGreaterThan(50 * residualChange);
  });

  it('in attention space, λ = 0 is knockout and λ = 1 changes nothing', async () => {
    const plain = await after([]);
    const zero = await after([{ mode: 'attention', layers: [LAYER], tokens, scale: 0 }]);
    const knockout = await after([{ mode: 'knockout', layers: [LAYER], tokens }]);
    const one = await after([{ mode: 'attention', layers: [LAYER], tokens, scale: 1 }]);
    expect(relativeChange(zero, knockout)).toBeLessThan(1e-6);
    expect(relativeChange(one, plain)).toBeLessThan(1e-6);
  });
});
