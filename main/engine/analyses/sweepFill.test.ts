/**
 * The sweep's resample and mean fills as an analysis: which donors an item gets, the settings refused
 * by name, each stored metric against an independent computation (a full forward of the donor for its
 * states, a full forward of the item with them in place: inference/forward.ts, not the cached sweep or
 * donors.ts; tolerance 1e-5, the two paths run the same float32 graphs), the report's curves per fill,
 * and the CLI on the demo model.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import type { SweepItemResult } from '../../common/analysis.ts';
import { runCli } from '../cli.testing.ts';
import { openDataset } from '../datasets/index.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { chooseDonors } from '../experiments/donors.ts';
import { runExperiment } from '../experiments/experiment.ts';
import { probabilityOf } from '../experiments/scoring.ts';
import { forward, prepareSample } from '../inference/forward.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { writeReport } from '../report/writeReport.ts';
import { canonicalJson } from '../store/canonicalJson.ts';
import { Workspace } from '../store/workspace.ts';
import { writeDataset } from '../synthetic/write.ts';
import { analysisOf } from './registry.ts';
import { metricTable } from './runReads.ts';
import { goldToken, prepareItem } from './samples.ts';
import { summarizeSweep } from './sweep.ts';

const LAYERS = 3;
const ITEMS = 4;

let root: string;
let model: LoadedModel;
let dataset: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-sweep-fill-'));
  await writeTinyLlava(join(root, 'model'), {
    seed: 29,
    dtype: 'F32',
    layout: 'modern',
    text: { layers: LAYERS },
  });
  model = await openModel(join(root, 'model'), { provider: 'cpu' });
  dataset = join(root, 'data');
  writeDataset({ out: dataset, split: 'test', count: ITEMS, seed: 5, imageSize: 32 });
});

afterAll(async () => {
  await model?.close();
  await rm(root, { recursive: true, force: true });
});

const item = (id: string, imagePath: string) => ({ id, imagePath }) as DatasetItem;

describe('donor choice', () => {
  // Items a and b ask about one image, as VQA datasets do.
  const items = [
    item('a', 'x.png'),
    item('b', 'x.png'),
    item('c', 'y.png'),
    item('d', 'y.png'),
    item('e', 'z.png'),
  ];

  it('takes the next items in dataset order whose images differ from its own and from each other', () => {
    expect(chooseDonors(items, items[0], 1).map((d) => d.id)).toEqual(['c']);
    expect(chooseDonors(items, items[0], 2).map((d) => d.id)).toEqual(['c', 'e']);
    // Wrapping around the end of the dataset.
    expect(chooseDonors(items, items[4], 2).map((d) => d.id)).toEqual(['a', 'c']);
    expect(chooseDonors(items, items[3], 0)).toEqual([]);
  });

  it('refuses more donors than the dataset has other images, and an item not in it', () => {
    expect(() => chooseDonors(items, items[0], 3)).toThrow(
      /item 'a' needs 3 donor image\(s\) other than its own, but the dataset has only 2 other image\(s\)/,
    );
    expect(() => chooseDonors(items, item('f', 'w.png'), 1)).toThrow(/item 'f' is not in the dataset/);
  });
});

describe('sweep fill settings', () => {
  const sweep = analysisOf('sweep');

  it('refuses by name a fill without mode hidden, a scale it would ignore, and fewer than one donor', () => {
    expect(() => sweep.parseConfig({ mode: 'knockout', fill: 'mean' })).toThrow(
      /fill \(--fill\): fill mean replaces the image tokens' states, so it needs mode hidden, not knockout/,
    );
    expect(() => sweep.parseConfig({ mode: 'hidden', fill: 'resample', scale: 0.1 })).toThrow(
      /scale \(--scale\): scale 0\.1 multiplies the states fill zero leaves/,
    );
    expect(() => sweep.parseConfig({ mode: 'hidden', fill: 'mean', donors: 0 })).toThrow(
      /donors \(--donors\)/,
    );
    expect(() => sweep.parseConfig({ fill: 'noise' })).toThrow(/fill \(--fill\)/);
    expect(sweep.parseConfig({ mode: 'knockout' })).toMatchObject({ fill: 'zero' });
  });

  it('reads a run stored before the fill existed as the same computation as a zero fill today', () => {
    // What runExperiment's normalizeConfig does to a stored config before comparing it to a new one.
    const stored = { mode: 'hidden', scale: 0, window: 1, maxNewTokens: 8, queries: 'all' };
    expect(canonicalJson(sweep.parseConfig(stored))).toBe(
      canonicalJson(sweep.parseConfig({ mode: 'hidden', fill: 'zero' })),
    );
  });
});

describe('a resample sweep over a dataset', () => {
  it('records each layer’s answer with the next item’s image states in place of its own', async () => {
    const workspace = Workspace.open(join(root, 'workspace'));
    try {
      const outcome = await runExperiment(
        { model, workspace, dataset },
        { kind: 'sweep', config: { mode: 'hidden', fill: 'resample', maxNewTokens: 1 } },
      );
      const items = (await openDataset(dataset)).items;
      expect(new Set(items.map((i) => i.imagePath)).size).toBe(ITEMS);
      const results = new Map(
        workspace.readSamples<SweepItemResult>(outcome.runId).map((s) => [s.itemId, s.result]),
      );
      const stored = metricTable(workspace, outcome.runId, 'gold_prob');
      let changed = 0;
      for (const [k, recipient] of items.entries()) {
        const donorItem = items[(k + 1) % ITEMS];
        expect(results.get(recipient.id)?.donors).toEqual([donorItem.id]);
        const sample = await prepareItem(model, recipient, {});
        const donor = await prepareSample(model, { image: donorItem.imagePath, prompt: sample.prompt });
        const pass = (await forward(model, donor, { keepCache: true })).cache!.pass;
        const D = model.spec.decoder.hiddenSize;
        const [start, end] = sample.imageTokenSpan;
        const replacement = new Map(
          pass.layerInputs.map((rows, layer) => [layer, rows!.slice(start * D, end * D)] as const),
        );
        const gold = goldToken(model, recipient)!;
        const base = probabilityOf((await forward(model, sample)).lastLogits, gold);
        for (let layer = 0; layer < LAYERS; layer++) {
          const masked = await forward(model, sample, {
            interventions: [{ mode: 'hidden', layers: [layer], replacement }],
          });
          const expected = probabilityOf(masked.lastLogits, gold);
          expect(stored.get(recipient.id)?.get(layer), `${recipient.id}, layer ${layer}`).toBeCloseTo(
            expected,
            5,
          );
          if (Math.abs(expected - base) > 1e-4) changed++;
        }
      }
      // Another image's states must change something, or agreeing would prove nothing.
      expect(changed).toBeGreaterThan(0);
      const summary = summarizeSweep(workspace, outcome.runId);
      expect([summary.mode, summary.fill, summary.sampleCount]).toEqual(['hidden', 'resample', ITEMS]);
      const run = workspace.getRun(outcome.runId);
      expect(analysisOf('sweep').describe(summary, run)[0]).toMatch(/\(hidden, fill resample\)/);
    } finally {
      workspace.close();
    }
  });

  it('draws zeroing, resampling and the mean in one report, each named by its fill', async () => {
    const workspace = Workspace.open(join(root, 'workspace'));
    try {
      for (const config of [
        { mode: 'hidden', fill: 'mean', donors: 2, maxNewTokens: 1 },
        { mode: 'hidden', fill: 'resample', maxNewTokens: 1 },
        { mode: 'hidden', maxNewTokens: 1 },
      ]) {
        await runExperiment({ model, workspace, dataset }, { kind: 'sweep', config }, { resume: 'auto' });
      }
      const out = join(root, 'report');
      await writeReport(workspace, model, out);
      const csv = await readFile(join(out, 'fusion-curve.csv'), 'utf8');
      const rows = csv.split('\r\n').slice(1).filter(Boolean);
      // Zeroing first (the paper's), then its controls, one row per layer each.
      expect(rows.map((r) => r.split(',').slice(0, 3).join(','))).toEqual(
        ['zero', 'resample', 'mean'].flatMap((fill) =>
          Array.from({ length: LAYERS }, () => `hidden,${fill},1`),
        ),
      );
      expect(rows.map((r) => Number(r.split(',')[3]))).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
      const svg = await readFile(join(out, 'fusion-curve.svg'), 'utf8');
      expect(svg).toContain('hidden (zero): image states \u00d70 from layer l on');
      expect(svg).toMatch(/hidden \(resample\): another image(&#39;|')s states from layer l on/);
      expect(svg).toMatch(/hidden \(mean\): the mean of 2 other images(&#39;|') states from layer l on/);
      const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
      const fills = report.sweep.modes
        .filter((m: { metric: string }) => m.metric === 'score')
        .map((m: { fill: string }) => m.fill);
      expect(fills).toEqual(['zero', 'resample', 'mean']);
    } finally {
      workspace.close();
    }
  });
});

describe('the sweep fill from the CLI', () => {
  it('lists --fill and --donors under sweep', async () => {
    const { stdout, stderr } = await runCli(['sweep', '--help']);
    expect(stdout + stderr).toMatch(
      /fusionscope sweep[^\n]*\n[^\n]*\[--fill zero\|resample\|mean\] \[--donors 4\]/,
    );
  });

  it('runs a resample sweep on the demo model and refuses a fill for knockout by its flag', async () => {
    const workspace = join(root, 'cli');
    const { code, stdout } = await runCli([
      'sweep',
      '--fill',
      'resample',
      '--limit',
      '2',
      '--max-new-tokens',
      '1',
      '--workspace',
      workspace,
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^sweep run \d+ \(hidden, fill resample\): baseline score [\d.]+ over 2 samples/m);
    const refused = await runCli(['sweep', '--mode', 'knockout', '--fill', 'mean', '--workspace', workspace]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/fill \(--fill\): fill mean replaces the image tokens' states/);
  });
});
