/**
 * Each embedded demo model (LLaVA and Qwen2-VL) against its own training framework: PyTorch's greedy
 * answers and last-position logits on the committed test split (native-models/demo/export_fixture.py,
 * into the model's reference_outputs.json) must be reproduced by the engine — answers on ≥ 99% of
 * items, logits to ≤ 1e-3 relative (float32 vs float32, different kernels and summation orders).
 */
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { maxRelativeError } from '../../native-models/testing/compare.ts';
import { DEMO_DATASET_DIR, DEMO_MODEL_DIRS } from './demo.ts';
import { openDataset, type DatasetItem } from './datasets/index.ts';
import { forward, planFor, prepareSample } from './inference/forward.ts';
import { decodeGreedy, prefilledState } from './inference/generate.ts';
import { openModel, type LoadedModel } from './model/openModel.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

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

describe.each(DEMO_MODEL_DIRS.map((folder) => [relative(ROOT, folder), folder]))(
  'demo model %s: engine vs PyTorch',
  (_, folder) => {
    let model: LoadedModel;
    let reference: Reference;
    let items: readonly DatasetItem[];

    beforeAll(async () => {
      model = await openModel(folder, { provider: 'cpu' });
      reference = JSON.parse(await readFile(join(folder, 'reference_outputs.json'), 'utf8'));
      items = (await openDataset(DEMO_DATASET_DIR)).items;
    });

    afterAll(async () => {
      await model?.close();
    });

    it('opens from its project folder too (the checkpoint sits in its model/ folder)', async () => {
      const viaProject = await openModel(join(folder, '..'), { provider: 'cpu' });
      expect(viaProject.folder).toBe(folder);
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
        // What the tower takes: CHW planes, or Qwen2-VL's flattened patch rows (channel-major blocks).
        const { patches } = sample.image;
        const values = patches ? patches.values : sample.image.pixelValues;
        const rows = patches ? patches.t * patches.h * patches.w : 1;
        const block = values.length / rows / 3;
        Array.from(values.subarray(0, 16)).forEach((v, i) =>
          expect(v).toBeCloseTo(p.pixel_values_head[i], 5),
        );
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (let r = 0; r < rows; r++) {
            const start = (r * 3 + c) * block;
            for (let j = start; j < start + block; j++) sum += values[j];
          }
          expect(sum / (rows * block)).toBeCloseTo(p.pixel_values_mean[c], 5);
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
  },
);
