/**
 * The fixture the analyses' reference tests share: a tiny random-weight LLaVA checkpoint in a temporary
 * folder, the engine's model on it, the float64 reference on the same weights, and a small synthetic
 * dataset (32 px images) to run on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ReferenceLlava } from '../../../native-models/reference/llava.ts';
import { writeTinyLlava, type TinyLlavaOptions } from '../../../native-models/testing/tinyLlava.ts';
import { openDataset } from '../datasets/index.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { writeDataset } from '../synthetic/write.ts';

export interface TinyModelFixture {
  readonly root: string;
  readonly model: LoadedModel;
  readonly reference: ReferenceLlava;
  readonly dataset: string;
  readonly items: DatasetItem[];
  close(): Promise<void>;
}

export async function openTinyModelFixture(
  name: string,
  checkpoint: TinyLlavaOptions,
  data: { readonly count: number; readonly seed: number },
): Promise<TinyModelFixture> {
  const root = await mkdtemp(join(tmpdir(), `fusionscope-${name}-`));
  await writeTinyLlava(join(root, 'model'), checkpoint);
  const model = await openModel(join(root, 'model'), { provider: 'cpu' });
  const reference = await ReferenceLlava.load(join(root, 'model'));
  const dataset = join(root, 'data');
  writeDataset({ out: dataset, split: 'test', count: data.count, seed: data.seed, imageSize: 32 });
  const items = (await openDataset(dataset)).items.slice(0, data.count);
  return {
    root,
    model,
    reference,
    dataset,
    items,
    async close() {
      await model.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
