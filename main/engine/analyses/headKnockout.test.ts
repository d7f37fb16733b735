/**
 * Head × layer knockout: every cell of the summary against an independent computation — a plain
 * forward per (layer, head) with that head's image keys knocked out (inference/forward.ts, not the
 * cached batched sweep the analysis uses), gold probability differenced by hand and averaged over the
 * items (tolerance 1e-5: the two paths run the same float32 graphs). Then the report and the CLI.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import { runCli } from '../cli.testing.ts';
import { openDataset } from '../datasets/index.ts';
import { runExperiment } from '../experiments/experiment.ts';
import { probabilityOf } from '../experiments/scoring.ts';
import { forward } from '../inference/forward.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { writeReport } from '../report/writeReport.ts';
import { Workspace } from '../store/workspace.ts';
import { writeDataset } from '../synthetic/write.ts';
import { summarizeHeadKnockout } from './headKnockout.ts';
import { goldToken, prepareItem } from './samples.ts';

const LAYERS = 3;
const ITEMS = 3;

let root: string;
let model: LoadedModel;
let dataset: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-head-knockout-'));
  await writeTinyLlava(join(root, 'model'), {
    seed: 23,
    dtype: 'F32',
    layout: 'modern',
    text: { layers: LAYERS },
  });
  model = await openModel(join(root, 'model'), { provider: 'cpu' });
  dataset = join(root, 'data');
  writeDataset({ out: dataset, split: 'test', count: ITEMS, seed: 4, imageSize: 32 });
});

afterAll(async () => {
  await model?.close();
  await rm(root, { recursive: true, force: true });
});

describe('head-knockout', () => {
  it('gives each (layer, head) the mean drop of a forward with only that head knocked out', async () => {
    const workspace = Workspace.open(join(root, 'workspace'));
    try {
      const outcome = await runExperiment(
        { model, workspace, dataset },
        { kind: 'head-knockout', config: { maxNewTokens: 1 } },
      );
      const summary = summarizeHeadKnockout(workspace, outcome.runId, { metric: 'gold_prob' });
      const heads = model.spec.decoder.heads;
      expect([summary.layers, summary.heads, summary.sampleCount]).toEqual([[0, 1, 2], heads, ITEMS]);
      const items = (await openDataset(dataset)).items;
      const expected = Array.from({ length: LAYERS }, () => new Array<number>(heads).fill(0));
      for (const item of items) {
        const sample = await prepareItem(model, item, {});
        const gold = goldToken(model, item)!;
        const base = probabilityOf((await forward(model, sample)).lastLogits, gold);
        for (let layer = 0; layer < LAYERS; layer++) {
          for (let head = 0; head < heads; head++) {
            const knocked = await forward(model, sample, {
              interventions: [{ mode: 'knockout', layers: [layer], heads: [head] }],
            });
            expected[layer][head] += (base - probabilityOf(knocked.lastLogits, gold)) / items.length;
          }
        }
      }
      summary.drops.forEach((row, layer) =>
        row.forEach((cell, head) => {
          expect(cell.mean, `layer ${layer}, head ${head}`).toBeCloseTo(expected[layer][head], 5);
          expect(cell.lower).toBeLessThanOrEqual(cell.mean + 1e-12);
          expect(cell.upper).toBeGreaterThanOrEqual(cell.mean - 1e-12);
        }),
      );
      // Some head matters somewhere: the heat map is not all zeros.
      expect(Math.max(...summary.drops.flat().map((c) => Math.abs(c.mean)))).toBeGreaterThan(1e-6);

      const out = join(root, 'report');
      const written = await writeReport(workspace, model, out);
      expect(written).toEqual(
        expect.arrayContaining(['head-knockout.svg', 'head-knockout.png', 'head-knockout.csv']),
      );
      const csv = (await readFile(join(out, 'head-knockout.csv'), 'utf8')).trim().split('\r\n');
      expect(csv[0]).toBe('layer,head,drop,lower,upper');
      expect(csv).toHaveLength(1 + LAYERS * heads);
    } finally {
      workspace.close();
    }
  });

  it('runs on the demo model from the CLI and prints the largest drops', async () => {
    const { code, stdout } = await runCli([
      'head-knockout',
      '--limit',
      '2',
      '--max-new-tokens',
      '1',
      '--workspace',
      join(root, 'cli'),
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^head-knockout run \d+: 2 samples, 12 layers × 4 heads/m);
    expect(stdout).toMatch(/largest drops/);
  });
});
