/**
 * Shared set-up and stories for the model-family end-to-end tests: a tiny checkpoint of the family
 * written to a temporary folder, opened on the CPU, a fresh workspace beside it; the CLI run in-process
 * with its output captured; and the suite every family must pass (`fusionscope info/answer/trace`,
 * the masking sweep, attention evolution and contrastive attention on the demo dataset).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { writeTinyLlava, type TinyLlavaOptions } from '../../../native-models/testing/tinyLlava.ts';
import { main } from '../cli.ts';
import { DEMO_DATASET_DIR } from '../demo.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { Workspace } from '../store/workspace.ts';
import { runExperiment, type ExperimentTarget } from './experiment.ts';
import { summarizeContrast } from '../analyses/contrast.ts';
import { summarizeEvolution } from '../analyses/evolve.ts';
import { summarizeSweep } from '../analyses/sweep.ts';

export interface TinyFamily {
  /** A temporary folder for the test's own files (removed afterwards). */
  readonly root: string;
  readonly folder: string;
  readonly model: LoadedModel;
  readonly workspace: Workspace;
}

/**
 * The fixture's parts, readable once beforeAll has run. `options` are a LLaVA-style checkpoint's, or
 * a writer for another family's tiny checkpoint (e.g. writeTinyInstructBlip).
 */
export function tinyFamilyFixture(
  name: string,
  options: TinyLlavaOptions | ((dir: string) => Promise<unknown>),
): TinyFamily {
  let root = '';
  let model: LoadedModel | undefined;
  let workspace: Workspace | undefined;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), `fusionscope-${name}-`));
    const folder = join(root, 'model');
    await (typeof options === 'function' ? options(folder) : writeTinyLlava(folder, options));
    model = await openModel(join(root, 'model'), { provider: 'cpu' });
    workspace = Workspace.open(join(root, 'workspace'));
  });
  afterAll(async () => {
    workspace?.close();
    await model?.close();
    await rm(root, { recursive: true, force: true });
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('tinyFamilyFixture: used before beforeAll ran');
    return value;
  };
  return {
    get root() {
      return ready(root || undefined);
    },
    get folder() {
      return join(ready(root || undefined), 'model');
    },
    get model() {
      return ready(model);
    },
    get workspace() {
      return ready(workspace);
    },
  };
}

/** Runs `fusionscope <args>` in this process, capturing what it writes. */
export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
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

/** The demo test item the CLI stories answer and trace. */
export const FAMILY_TEST_IMAGE = join(DEMO_DATASET_DIR, 'images', 'test-000001.png');

/** The first two demo items, on the fixture's model and workspace. */
export function familyTarget(tiny: TinyFamily): ExperimentTarget {
  return { model: tiny.model, workspace: tiny.workspace, dataset: DEMO_DATASET_DIR, limit: 2 };
}

export interface FamilyExpectations {
  /** Display name in the suite titles, e.g. "VIP-LLaVA". */
  readonly label: string;
  /** Image tokens of a 64 × 64 demo image. */
  readonly tokens: number;
  /**
   * Cells of the stored attention maps (default: `tokens`); a query-token family's maps lie on the
   * vision patch grid its Q-Former cross-attends to.
   */
  readonly cells?: number;
  /** How those tokens are laid out, for the evolution test's title. */
  readonly layout: string;
  /** What `fusionscope info` must report (beside equalling model.info()). */
  readonly info: Record<string, unknown>;
}

/** The CLI and experiment stories every family passes; the fixture's model has 4 decoder layers. */
export function familyEndToEnd(tiny: TinyFamily, expected: FamilyExpectations): void {
  const { label, tokens } = expected;
  const cells = expected.cells ?? tokens;

  describe(`${label} in the CLI`, () => {
    it('info describes it as the app’s model view does (model type, token grid, summary)', async () => {
      const { code, stdout } = await runCli(['info', '--model', tiny.folder, '--provider', 'cpu']);
      expect(code).toBe(0);
      const info = JSON.parse(stdout);
      expect(info).toMatchObject(expected.info);
      expect(info).toEqual(JSON.parse(JSON.stringify(tiny.model.info())));
    });

    it('answer and trace run, and a hidden-state edit changes the trace', async () => {
      const question = ['--image', FAMILY_TEST_IMAGE, '--provider', 'cpu'];
      const answer = await runCli([
        ...['answer', '--model', tiny.folder, ...question, '--question', 'what color is the circle'],
        ...['--max-new-tokens', '2'],
      ]);
      expect(answer.code).toBe(0);
      expect(answer.stderr).toMatch(/\[cpu, \d tokens/);
      const base = ['trace', '--model', tiny.folder, ...question, '--question', 'what color'];
      const plainPath = join(tiny.root, 'plain.json');
      const maskedPath = join(tiny.root, 'masked.json');
      expect((await runCli([...base, '--json', plainPath])).code).toBe(0);
      const masked = [...base, '--mask-mode', 'hidden', '--mask-layers', '1', '--json', maskedPath];
      expect((await runCli(masked)).code).toBe(0);
      const [plain, edited] = await Promise.all(
        [plainPath, maskedPath].map(async (p) => JSON.parse(await readFile(p, 'utf8'))),
      );
      expect(plain.imageTokenSpan[1] - plain.imageTokenSpan[0]).toBe(tokens);
      expect(plain.imageAttention).toHaveLength(4);
      expect(plain.imageAttention[0]).toHaveLength(tokens);
      expect(edited.lastLogits).not.toEqual(plain.lastLogits);
    });
  });

  describe(`${label} experiments on the demo dataset`, () => {
    it('sweeps every decoder layer', async () => {
      const outcome = await runExperiment(familyTarget(tiny), {
        kind: 'sweep',
        config: { mode: 'knockout', maxNewTokens: 2 },
      });
      expect(outcome.status).toBe('done');
      const summary = summarizeSweep(tiny.workspace, outcome.runId, { metric: 'gold_prob' });
      expect(summary.sampleCount).toBe(2);
      expect(summary.masked.map((s) => s.layer)).toEqual([0, 1, 2, 3]);
    });

    it(`records attention evolution over ${expected.layout}`, async () => {
      const outcome = await runExperiment(familyTarget(tiny), { kind: 'evolve', config: { perHead: true } });
      const summary = summarizeEvolution(tiny.workspace, outcome.runId);
      expect(summary.curves.hellinger_to_final.at(-1)?.mean).toBe(0);
      const itemId = tiny.workspace.readSamples(outcome.runId)[0].itemId;
      expect(tiny.workspace.readArray(outcome.runId, itemId, 'maps')?.shape).toEqual([4, cells]);
      expect(tiny.workspace.readArray(outcome.runId, itemId, 'per_head')?.shape).toEqual([4, 4, cells]);
    });

    it('contrasts the unrefined answer with each refinement', async () => {
      const outcome = await runExperiment(familyTarget(tiny), {
        kind: 'contrast',
        config: { candidateLayers: [0, 1], reviewLayer: 2, maxNewTokens: 2 },
      });
      const summary = summarizeContrast(tiny.workspace, outcome.runId);
      expect(summary.sampleCount).toBe(2);
      expect(summary.methods.map((m) => m.method)).toEqual(['none', 'mask', 'crop', 'vicrop']);
      const [ca, pre, final] = ['ca', 'pre', 'final'].map((name) =>
        tiny.workspace.readArray(outcome.runId, summary.rows[0].itemId, name)!,
      );
      expect(pre.shape).toEqual([cells]);
      ca.data.forEach((v, i) => expect(v).toBeCloseTo(final.data[i] - pre.data[i], 6));
    });
  });
}
