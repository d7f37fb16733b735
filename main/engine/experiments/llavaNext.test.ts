/**
 * LLaVA-NeXT end to end on a tiny checkpoint: `fusionscope info/answer/trace`, and the masking sweep,
 * attention evolution and contrastive attention on the demo dataset. The image-token count varies per
 * image here, so the checks read each sample's layout rather than a model-wide count.
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
/** A 64 × 64 demo image: 4 × 4 base features, 2 × 2 tiles (pinpoint 56 × 56) → 8 rows of 8 + newline. */
const TOKENS = 16 + 8 * 9;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-llava-next-'));
  folder = join(root, 'model');
  await writeTinyLlava(folder, {
    seed: 62,
    dtype: 'F16',
    layout: 'modern',
    llavaNext: {},
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

describe('LLaVA-NeXT in the CLI', () => {
  it('info describes it as the app’s model view does (model type, token grid, summary)', async () => {
    const { code, stdout } = await cli(['info', '--model', folder, '--provider', 'cpu']);
    expect(code).toBe(0);
    const info = JSON.parse(stdout);
    expect(info).toMatchObject({
      modelType: 'llava_next',
      weightsDtype: 'F16',
      imageTokensPerImage: null,
      imageGrid: { rows: 4, cols: 4, leadingTokens: 0 },
      summary: { imageGridPinpoints: '28x56,56x28,56x56,84x28,28x84', decoderLayers: 4 },
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
    expect(plain.imageTokenSpan[1] - plain.imageTokenSpan[0]).toBe(TOKENS);
    expect(plain.imageAttention).toHaveLength(4);
    expect(plain.imageAttention[0]).toHaveLength(TOKENS);
    expect(edited.lastLogits).not.toEqual(plain.lastLogits);
  });
});

describe('LLaVA-NeXT experiments on the demo dataset', () => {
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

  it('sweeps a token subset past the base grid (no model-wide bound), and rejects negative tokens', async () => {
    const outcome = await runExperiment(target(), {
      kind: 'sweep',
      config: { mode: 'hidden', tokens: [0, 40, TOKENS - 1], maxNewTokens: 1 },
    });
    expect(outcome.status).toBe('done');
    await expect(
      runExperiment(target(), { kind: 'sweep', config: { mode: 'hidden', tokens: [-1] } }),
    ).rejects.toThrow('sweep tokens must be non-negative integer image token indices, got -1');
  });

  it('records attention evolution over every image token (base, tiles, newlines)', async () => {
    const outcome = await runExperiment(target(), { kind: 'evolve', config: { perHead: true } });
    const summary = summarizeEvolution(workspace, outcome.runId);
    expect(summary.curves.hellinger_to_final.at(-1)?.mean).toBe(0);
    const itemId = workspace.readSamples(outcome.runId)[0].itemId;
    expect(workspace.readArray(outcome.runId, itemId, 'maps')?.shape).toEqual([4, TOKENS]);
    expect(workspace.readArray(outcome.runId, itemId, 'per_head')?.shape).toEqual([4, 4, TOKENS]);
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
    expect(pre.shape).toEqual([TOKENS]);
    ca.data.forEach((v, i) => expect(v).toBeCloseTo(final.data[i] - pre.data[i], 6));
  });
});
