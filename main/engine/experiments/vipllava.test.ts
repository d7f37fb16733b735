/**
 * VIP-LLaVA end to end on a tiny checkpoint: `fusionscope info/answer/trace`, and the masking sweep,
 * attention evolution and contrastive attention on the demo dataset. Nothing here is family-specific:
 * the point is that a second architecture flows through the same engine, CLI and experiments.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DEMO_DATASET_DIR } from '../demo.ts';
import { runExperiment } from './experiment.ts';
import { runCli, tinyFamilyFixture } from './familyTesting.ts';
import { summarizeContrast, summarizeEvolution, summarizeSweep } from './summaries.ts';

// vision_feature_layers [-2, -4, 1]: 3 × 32 vision features per patch into the projector LayerNorm.
const tiny = tinyFamilyFixture('vipllava', {
  seed: 61,
  dtype: 'F16',
  layout: 'modern',
  vipllava: true,
  text: { layers: 4 },
});
const IMAGE = join(DEMO_DATASET_DIR, 'images', 'test-000001.png');

describe('VIP-LLaVA in the CLI', () => {
  it('info describes it as the app’s tiny.model view does (tiny.model type, token grid, summary)', async () => {
    const { code, stdout } = await runCli(['info', '--model', tiny.folder, '--provider', 'cpu']);
    expect(code).toBe(0);
    const info = JSON.parse(stdout);
    expect(info).toMatchObject({
      modelType: 'vipllava',
      weightsDtype: 'F16',
      imageTokensPerImage: 16,
      imageGrid: { rows: 4, cols: 4, leadingTokens: 0 },
      summary: { visionFeatureLayers: '2,0,1', projectorLayerNormEps: 1e-5, decoderLayers: 4 },
    });
    expect(info).toEqual(JSON.parse(JSON.stringify(tiny.model.info())));
  });

  it('answer and trace run, and a hidden-state edit changes the trace', async () => {
    const answer = await runCli([
      ...['answer', '--model', tiny.folder, '--image', IMAGE, '--question', 'what color is the circle'],
      ...['--max-new-tokens', '2', '--provider', 'cpu'],
    ]);
    expect(answer.code).toBe(0);
    expect(answer.stderr).toMatch(/\[cpu, \d tokens/);
    const base = [
      'trace',
      '--model',
      tiny.folder,
      '--image',
      IMAGE,
      '--question',
      'what color',
      '--provider',
      'cpu',
    ];
    const plainPath = join(tiny.root, 'plain.json');
    const maskedPath = join(tiny.root, 'masked.json');
    expect((await runCli([...base, '--json', plainPath])).code).toBe(0);
    const masked = [...base, '--mask-mode', 'hidden', '--mask-layers', '1', '--json', maskedPath];
    expect((await runCli(masked)).code).toBe(0);
    const [plain, edited] = await Promise.all(
      [plainPath, maskedPath].map(async (p) => JSON.parse(await readFile(p, 'utf8'))),
    );
    expect(plain.imageTokenSpan[1] - plain.imageTokenSpan[0]).toBe(16);
    expect(plain.imageAttention).toHaveLength(4);
    expect(plain.imageAttention[0]).toHaveLength(16);
    expect(edited.lastLogits).not.toEqual(plain.lastLogits);
  });
});

describe('VIP-LLaVA experiments on the demo dataset', () => {
  const target = () => ({
    model: tiny.model,
    workspace: tiny.workspace,
    dataset: DEMO_DATASET_DIR,
    limit: 2,
  });

  it('sweeps every decoder layer', async () => {
    const outcome = await runExperiment(target(), {
      kind: 'sweep',
      config: { mode: 'knockout', maxNewTokens: 2 },
    });
    expect(outcome.status).toBe('done');
    const summary = summarizeSweep(tiny.workspace, outcome.runId, { metric: 'gold_prob' });
    expect(summary.sampleCount).toBe(2);
    expect(summary.masked.map((s) => s.layer)).toEqual([0, 1, 2, 3]);
  });

  it('records attention evolution over the 4 × 4 token grid', async () => {
    const outcome = await runExperiment(target(), { kind: 'evolve', config: { perHead: true } });
    const summary = summarizeEvolution(tiny.workspace, outcome.runId);
    expect(summary.curves.hellinger_to_final.at(-1)?.mean).toBe(0);
    const itemId = tiny.workspace.readSamples(outcome.runId)[0].itemId;
    expect(tiny.workspace.readArray(outcome.runId, itemId, 'maps')?.shape).toEqual([4, 16]);
    expect(tiny.workspace.readArray(outcome.runId, itemId, 'per_head')?.shape).toEqual([4, 4, 16]);
  });

  it('contrasts the unrefined answer with each refinement', async () => {
    const outcome = await runExperiment(target(), {
      kind: 'contrast',
      config: { candidateLayers: [0, 1], reviewLayer: 2, maxNewTokens: 2 },
    });
    const summary = summarizeContrast(tiny.workspace, outcome.runId);
    expect(summary.sampleCount).toBe(2);
    expect(summary.methods.map((m) => m.method)).toEqual(['none', 'mask', 'crop', 'vicrop']);
    const [ca, pre, final] = ['ca', 'pre', 'final'].map((name) =>
      tiny.workspace.readArray(outcome.runId, summary.rows[0].itemId, name)!,
    );
    expect(pre.shape).toEqual([16]);
    ca.data.forEach((v, i) => expect(v).toBeCloseTo(final.data[i] - pre.data[i], 6));
  });
});
