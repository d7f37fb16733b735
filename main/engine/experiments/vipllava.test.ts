/**
 * VIP-LLaVA end to end on a tiny checkpoint: `fusionscope info/answer/trace`, and the masking sweep,
 * attention evolution and contrastive attention on the demo dataset. Nothing here is family-specific:
 * the point is that a second architecture flows through the same engine, CLI and experiments.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import { main } from '../cli.ts';
import { DEMO_DATASET_DIR } from '../demo.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { Workspace } from '../store/workspace.ts';
import { runExperiment } from './experiment.ts';
import { summarizeContrast, summarizeEvolution, summarizeSweep } from './summaries.ts';

let root: string;
let folder: string;
let model: LoadedModel;
let workspace: Workspace;
const IMAGE = join(DEMO_DATASET_DIR, 'images', 'test-000001.png');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-vipllava-'));
  folder = join(root, 'model');
  // vision_feature_layers [-2, -4, 1]: 3 × 32 vision features per patch into the projector LayerNorm.
  await writeTinyLlava(folder, {
    seed: 61,
    dtype: 'F16',
    layout: 'modern',
    vipllava: true,
    text: { layers: 4 },
  });
  model = await openModel(folder, { provider: 'cpu' });
  workspace = Workspace.open(join(root, 'workspace'));
});

afterAll(async () => {
  workspace?.close();
  await model?.close();
  await rm(root, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((stdout += String(c)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((stderr += String(c)), true));
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('VIP-LLaVA in the CLI', () => {
  it('info describes it as the app’s model view does (model type, token grid, summary)', async () => {
    const { code, stdout } = await cli(['info', '--model', folder, '--provider', 'cpu']);
    expect(code).toBe(0);
    const info = JSON.parse(stdout);
    expect(info).toMatchObject({
      modelType: 'vipllava',
      weightsDtype: 'F16',
      imageTokensPerImage: 16,
      imageGrid: { rows: 4, cols: 4, leadingTokens: 0 },
      summary: { visionFeatureLayers: '2,0,1', projectorLayerNormEps: 1e-5, decoderLayers: 4 },
    });
    expect(info).toEqual(JSON.parse(JSON.stringify(model.info())));
  });

  it('answer and trace run, and a hidden-state edit changes the trace', async () => {
    const answer = await cli([
      ...['answer', '--model', folder, '--image', IMAGE, '--question', 'what color is the circle'],
      ...['--max-new-tokens', '2', '--provider', 'cpu'],
    ]);
    expect(answer.code).toBe(0);
    expect(answer.stderr).toMatch(/\[cpu, \d tokens/);
    const base = [
      'trace',
      '--model',
      folder,
      '--image',
      IMAGE,
      '--question',
      'what color',
      '--provider',
      'cpu',
    ];
    const plainPath = join(root, 'plain.json');
    const maskedPath = join(root, 'masked.json');
    expect((await cli([...base, '--json', plainPath])).code).toBe(0);
    const masked = [...base, '--mask-mode', 'hidden', '--mask-layers', '1', '--json', maskedPath];
    expect((await cli(masked)).code).toBe(0);
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
  const target = () => ({ model, workspace, dataset: DEMO_DATASET_DIR, limit: 2 });

  it('sweeps every decoder layer', async () => {
    const outcome = await runExperiment(target(), {
      kind: 'sweep',
      config: { mode: 'knockout', maxNewTokens: 2 },
    });
    expect(outcome.status).toBe('done');
    const summary = summarizeSweep(workspace, outcome.runId, { metric: 'gold_prob' });
    expect(summary.sampleCount).toBe(2);
    expect(summary.masked.map((s) => s.layer)).toEqual([0, 1, 2, 3]);
  });

  it('records attention evolution over the 4 × 4 token grid', async () => {
    const outcome = await runExperiment(target(), { kind: 'evolve', config: { perHead: true } });
    const summary = summarizeEvolution(workspace, outcome.runId);
    expect(summary.curves.hellinger_to_final.at(-1)?.mean).toBe(0);
    const itemId = workspace.readSamples(outcome.runId)[0].itemId;
    expect(workspace.readArray(outcome.runId, itemId, 'maps')?.shape).toEqual([4, 16]);
    expect(workspace.readArray(outcome.runId, itemId, 'per_head')?.shape).toEqual([4, 4, 16]);
  });

  it('contrasts the unrefined answer with each refinement', async () => {
    const outcome = await runExperiment(target(), {
      kind: 'contrast',
      config: { candidateLayers: [0, 1], reviewLayer: 2, maxNewTokens: 2 },
    });
    const summary = summarizeContrast(workspace, outcome.runId);
    expect(summary.sampleCount).toBe(2);
    expect(summary.methods.map((m) => m.method)).toEqual(['none', 'mask', 'crop', 'vicrop']);
    const [ca, pre, final] = ['ca', 'pre', 'final'].map((name) =>
      workspace.readArray(outcome.runId, summary.rows[0].itemId, name)!,
    );
    expect(pre.shape).toEqual([16]);
    ca.data.forEach((v, i) => expect(v).toBeCloseTo(final.data[i] - pre.data[i], 6));
  });
});
