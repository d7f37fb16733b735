/**
 * LLaVA-NeXT end to end on a tiny checkpoint: `fusionscope info/answer/trace`, and the masking sweep,
 * attention evolution and contrastive attention on the demo dataset. The image-token count varies per
 * image here, so the checks read each sample's layout rather than a model-wide count.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DEMO_DATASET_DIR } from '../demo.ts';
import { runExperiment } from './experiment.ts';
import { runCli, tinyFamilyFixture } from './familyTesting.ts';
import { summarizeContrast, summarizeEvolution, summarizeSweep } from './summaries.ts';

const tiny = tinyFamilyFixture('llava-next', {
  seed: 62,
  dtype: 'F16',
  layout: 'modern',
  llavaNext: {},
  text: { layers: 4 },
});
const IMAGE = join(DEMO_DATASET_DIR, 'images', 'test-000001.png');
/** A 64 × 64 demo image: 4 × 4 base features, 2 × 2 tiles (pinpoint 56 × 56) → 8 rows of 8 + newline. */
const TOKENS = 16 + 8 * 9;

describe('LLaVA-NeXT in the CLI', () => {
  it('info describes it as the app’s tiny.model view does (tiny.model type, token grid, summary)', async () => {
    const { code, stdout } = await runCli(['info', '--model', tiny.folder, '--provider', 'cpu']);
    expect(code).toBe(0);
    const info = JSON.parse(stdout);
    expect(info).toMatchObject({
      modelType: 'llava_next',
      weightsDtype: 'F16',
      imageTokensPerImage: null,
      imageGrid: { rows: 4, cols: 4, leadingTokens: 0 },
      summary: { imageGridPinpoints: '28x56,56x28,56x56,84x28,28x84', decoderLayers: 4 },
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
    expect(plain.imageTokenSpan[1] - plain.imageTokenSpan[0]).toBe(TOKENS);
    expect(plain.imageAttention).toHaveLength(4);
    expect(plain.imageAttention[0]).toHaveLength(TOKENS);
    expect(edited.lastLogits).not.toEqual(plain.lastLogits);
  });
});

describe('LLaVA-NeXT experiments on the demo dataset', () => {
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

  it('sweeps a token subset past the base grid (no tiny.model-wide bound), and rejects negative tokens', async () => {
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
    const summary = summarizeEvolution(tiny.workspace, outcome.runId);
    expect(summary.curves.hellinger_to_final.at(-1)?.mean).toBe(0);
    const itemId = tiny.workspace.readSamples(outcome.runId)[0].itemId;
    expect(tiny.workspace.readArray(outcome.runId, itemId, 'maps')?.shape).toEqual([4, TOKENS]);
    expect(tiny.workspace.readArray(outcome.runId, itemId, 'per_head')?.shape).toEqual([4, 4, TOKENS]);
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
    expect(pre.shape).toEqual([TOKENS]);
    ca.data.forEach((v, i) => expect(v).toBeCloseTo(final.data[i] - pre.data[i], 6));
  });
});
