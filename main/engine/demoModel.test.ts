/**
 * The embedded demo model against its own training framework: PyTorch's greedy answers and
 * last-position logits on the committed test split (native-models/demo/export_fixture.py) must be
 * reproduced by the engine — answers on ≥ 99% of items, logits to ≤ 1e-3 relative (float32 vs float32,
 * different kernels and summation orders).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { maxRelativeError } from '../../native-models/testing/compare.ts';
import { DEMO_DATASET_DIR, DEMO_MODEL_DIR } from './demo.ts';
import { openDataset, type DatasetItem } from './datasets/index.ts';
import { forward, planFor, prepareSample } from './inference/forward.ts';
import { decodeGreedy, prefilledState } from './inference/generate.ts';
import { openModel, type LoadedModel } from './model/openModel.ts';

interface Reference {
  readonly max_new_tokens: number;
  readonly items: Record<string, { answer_ids: number[]; last_logits: number[] }>;
  readonly prompts: Array<{
    id: string;
    input_ids: number[];
    pixel_values_head: number[];
    pixel_values_mean: number[];
  }>;
}

let model: LoadedModel;
let reference: Reference;
let items: readonly DatasetItem[];

beforeAll(async () => {
  model = await openModel(DEMO_MODEL_DIR, { provider: 'cpu' });
  reference = JSON.parse(await readFile(join(DEMO_MODEL_DIR, 'reference_outputs.json'), 'utf8'));
  items = (await openDataset(DEMO_DATASET_DIR)).items;
});

afterAll(async () => {
  await model?.close();
});

describe('demo model: engine vs PyTorch', () => {
  it('opens from native-models/demo too (the checkpoint sits in its model/ folder)', async () => {
    const viaProject = await openModel(join(DEMO_MODEL_DIR, '..'), { provider: 'cpu' });
    expect(viaProject.folder).toBe(DEMO_MODEL_DIR);
    await viaProject.close();
  });

  it('tokenises and preprocesses the first prompts exactly as training did', async () => {
    expect(reference.prompts.length).toBeGreaterThan(0);
    for (const p of reference.prompts) {
      const item = items.find((i) => i.id === p.id);
      if (!item) throw new Error(`test split lacks ${p.id}`);
      const sample = await prepareSample(model, {
        image: item.imagePath,
        prompt: { kind: 'question', text: item.question },
      });
      expect(sample.expandedIds).toEqual(p.input_ids);
      Array.from(sample.image.pixelValues.subarray(0, 16)).forEach((v, i) =>
        expect(v).toBeCloseTo(p.pixel_values_head[i], 5),
      );
      const plane = sample.image.pixelValues.length / 3;
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let j = 0; j < plane; j++) sum += sample.image.pixelValues[c * plane + j];
        expect(sum / plane).toBeCloseTo(p.pixel_values_mean[c], 5);
      }
    }
  });

  it('gives PyTorch’s greedy answers on ≥ 99% of the test split and its logits to ≤ 1e-3', async () => {
    let same = 0;
    let worst = 0;
    for (const item of items) {
      const expected = reference.items[item.id];
      if (!expected) throw new Error(`reference lacks ${item.id}`);
      const sample = await prepareSample(model, {
        image: item.imagePath,
        prompt: { kind: 'question', text: item.question },
      });
      const result = await forward(model, sample, { attentionRows: [] });
      worst = Math.max(worst, maxRelativeError(result.lastLogits, expected.last_logits));
      const state = prefilledState(sample, result.lastLogits, result.present, planFor(model, sample));
      const answer = await decodeGreedy(model, state, reference.max_new_tokens);
      if (JSON.stringify(answer.tokenIds) === JSON.stringify(expected.answer_ids)) same++;
    }
    expect(items.length).toBeGreaterThanOrEqual(300);
    expect(same / items.length).toBeGreaterThanOrEqual(0.99);
    expect(worst).toBeLessThanOrEqual(1e-3);
  });
});
