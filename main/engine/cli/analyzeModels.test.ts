/**
 * `fusionscope analyze` on several models, as a user runs it: which models (--model A,B, or every
 * embedded demo model), the checks made before anything runs, and end to end on two tiny checkpoints
 * of different depth (LLaVA, 4 layers; Qwen2-VL, 6) on two demo questions: each model's report in its
 * folder, the comparison beside them, and every number of compare.json equal to the one in the model's
 * own report. Then a failing model among them costs the others nothing, on the embedded demo model,
 * whose trained answers make the numbers compared non-zero.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import type { RunRow } from '../../common/runs.ts';
import { writeTinyQwen } from '../../../native-models/testing/tinyQwen.ts';
import { runCli } from '../cli.testing.ts';
import { parseCsv } from '../datasets/csv.ts';
import { DEMO_MODEL_DIR, DEMO_MODEL_DIRS } from '../demo.ts';
import { openModel } from '../model/openModel.ts';
import { digestModel } from '../report/compare/modelDigest.ts';
import type { CompareJson, ComparedModel } from '../report/compare/writeComparison.ts';
import { decodePng } from '../report/testing.ts';
import { Workspace } from '../store/workspace.ts';
import { analyzedModels } from './experimentCommands.ts';
import { planModels } from './analyzeModels.ts';

describe('which models analyze runs on', () => {
  it('takes --model as a comma-separated list, else every embedded demo model', () => {
    expect(DEMO_MODEL_DIRS).toContain(DEMO_MODEL_DIR);
    expect(analyzedModels({})).toEqual(DEMO_MODEL_DIRS);
    expect(analyzedModels({ model: ' a/b , /c/d,' })).toEqual(['a/b', '/c/d']);
    expect(() => analyzedModels({ model: ' , ' })).toThrow(/--model " , " names no model/);
    expect(() => analyzedModels({ model: 'a,b,a' })).toThrow(/--model names "a" twice/);
  });
});

/** The command line as `npx fusionscope` runs it. */
const CLI_BIN = fileURLToPath(new URL('../../../bin/fusionscope.mjs', import.meta.url));

/** Every run a workspace holds. */
function runsIn(folder: string): RunRow[] {
  const ws = Workspace.open(folder);
  try {
    return ws.listRuns({});
  } finally {
    ws.close();
  }
}

/** The CSV a report wrote, as objects keyed by its header. */
async function csvRows(path: string): Promise<Record<string, string>[]> {
  const [header, ...rows] = parseCsv(await readFile(path, 'utf8')).map((r) => r.fields);
  return rows.map((fields) => Object.fromEntries(header.map((name, i) => [name, fields[i]])));
}

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;

/** What these tests read of a model's own report.json (engine/report/writeReport.ts). */
interface OwnReport {
  readonly model: { readonly folder: string };
  readonly sweep: {
    readonly runId: number;
    readonly baseline: number;
    readonly samples: number;
    readonly fusionLayers: number[];
    readonly reviewLayers: number[];
    readonly plateauStart: number | null;
    readonly modes: readonly (Record<string, unknown> & {
      readonly metric: string;
      readonly runId: number;
      readonly fusionLayers: number[];
      readonly reviewLayers: number[];
    })[];
  };
  readonly evolve: { readonly runId: number; readonly boxMassChance: unknown };
  readonly contrast: { readonly runId: number; readonly methods: unknown; readonly notApplicable: unknown };
}
/** A CSV cell as the number it was written from ('' for null). */
const num = (cell: string | undefined) => (cell === '' || cell === undefined ? null : Number(cell));

/** Every number compare.json holds of a model equals the one in its own report (report.json, CSV). */
async function expectSameAsOwnReport(compared: ComparedModel, reportDir: string): Promise<void> {
  const report = await readJson<OwnReport>(join(reportDir, 'report.json'));
  expect(compared.folder).toBe(report.model.folder);
  expect(compared.sweepRunId).toBe(report.sweep.runId);
  expect(compared.baseline).toBe(report.sweep.baseline);
  expect(compared.samples).toBe(report.sweep.samples);
  expect(compared.fusionLayers).toEqual(report.sweep.fusionLayers);
  expect(compared.reviewLayers).toEqual(report.sweep.reviewLayers);
  expect(compared.reviewLayer).toBe(report.sweep.reviewLayers[0] ?? null);
  expect(compared.plateauStart).toBe(report.sweep.plateauStart);

  const modes = report.sweep.modes.filter((m) => m.metric === 'score');
  expect(compared.sweeps.map((s) => s.runId)).toEqual(modes.map((m) => m.runId));
  const curves = await csvRows(join(reportDir, 'fusion-curve.csv'));
  for (const [i, sweep] of compared.sweeps.entries()) {
    const mode = modes[i];
    for (const key of ['mode', 'fill', 'window', 'samples', 'baseline', 'plateauStart'] as const)
      expect(sweep[key], key).toEqual(mode[key]);
    expect(sweep.fusionLayers).toEqual(mode.fusionLayers);
    expect(sweep.reviewLayers).toEqual(mode.reviewLayers);
    const rows = curves.filter(
      (r) => r.mode === sweep.mode && r.fill === (sweep.fill ?? '') && num(r.window) === sweep.window,
    );
    expect(rows.map((r) => num(r.layer))).toEqual(sweep.curve.map((p) => p.layer));
    sweep.curve.forEach((point, l) => {
      expect(point.depth).toBe(point.layer / (compared.layers - 1));
      expect(point.drop).toEqual({
        mean: num(rows[l].drop_mean),
        lower: num(rows[l].drop_ci_lower),
        upper: num(rows[l].drop_ci_upper),
      });
      // Drawn as the model's own figure draws it: baseline − drop, banded by the drop's interval.
      if (!point.drop) throw new Error('a sweep of this FusionScope keeps its paired drops');
      expect([point.mean, point.lower, point.upper]).toEqual([
        sweep.baseline - point.drop.mean,
        sweep.baseline - point.drop.upper,
        sweep.baseline - point.drop.lower,
      ]);
    });
  }

  expect(compared.evolution?.runId).toBe(report.evolve.runId);
  expect(compared.evolution?.boxMassChance).toEqual(report.evolve.boxMassChance);
  const evolution = await csvRows(join(reportDir, 'evolution.csv'));
  expect(compared.evolution?.boxMass?.map((s) => [s.layer, s.mean, s.lower, s.upper])).toEqual(
    evolution.map((r) => [
      num(r.layer),
      num(r['box mass']),
      num(r['box mass ci_lower']),
      num(r['box mass ci_upper']),
    ]),
  );

  expect(compared.contrast?.runId).toBe(report.contrast.runId);
  expect(compared.contrast?.methods).toEqual(report.contrast.methods);
  expect(compared.contrast?.notApplicable).toEqual(report.contrast.notApplicable);
}

describe('fusionscope analyze --model A,B', () => {
  let root: string;
  let llava: string;
  let qwen: string;
  let workspace: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fusionscope-analyze-models-'));
    // Both checkpoints in folders called `model`, as the demo's is: their slugs take the parent's name.
    llava = join(root, 'llava', 'model');
    qwen = join(root, 'qwen', 'model');
    await writeTinyLlava(llava, { seed: 11, dtype: 'F32', layout: 'modern', text: { layers: 4 } });
    await writeTinyQwen(qwen, {
      family: 'qwen2_vl',
      seed: 12,
      dtype: 'F32',
      layout: 'modern',
      text: { layers: 6 },
    });
    workspace = join(root, 'workspace');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses before anything runs: a model that is not there, one named twice, --resume ID', async () => {
    const missing = await runCli([
      'analyze',
      '--model',
      `${llava},${join(root, 'nothing')}`,
      '--workspace',
      workspace,
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/^error \[[A-Z_]+\]: .*nothing/m);
    expect(existsSync(workspace)).toBe(false);
    await expect(planModels([llava, `${llava}/`], {})).rejects.toThrow(/names one checkpoint twice/);
    await expect(planModels([llava, qwen], { resume: '3' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it('refuses to compare a model that has no finished sweep, naming it', async () => {
    const model = await openModel(llava, { provider: 'cpu' });
    const empty = Workspace.open(join(root, 'empty-workspace'));
    try {
      await expect(digestModel(empty, model, 'llava-model')).rejects.toMatchObject({
        code: 'BAD_ARGUMENT',
        message: expect.stringContaining(`no finished sweep run of ${llava}`),
      });
    } finally {
      empty.close();
      await model.close();
    }
  });

  it("writes each model's report in its folder and their comparison on normalised depth", async () => {
    const out = join(root, 'report');
    // Both at once, each in a process of its own (its lines relayed under its name).
    const { code, stdout, stderr } = await runCli([
      ...['analyze', '--model', `${llava},${qwen}`, '--limit', '2', '--jobs', '2'],
      ...['--workspace', workspace, '--out', out, '--provider', 'cpu'],
    ]);
    expect(code, stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['compare', 'llava-model', 'qwen-model']);
    expect(stdout).toContain(`comparison of llava-model, qwen-model written to ${join(out, 'compare')}/`);
    expect(stdout).toContain(`[llava-model] report written to ${join(out, 'llava-model')}/`);
    expect(stderr).toMatch(/^\[qwen-model\] sweep run \d+ \[#+\] 2\/2/m);

    const compare = await readJson<CompareJson>(join(out, 'compare', 'compare.json'));
    expect(compare.failed).toEqual([]);
    expect(compare.models.map((m) => [m.slug, m.modelType, m.layers])).toEqual([
      ['llava-model', 'llava', 4],
      ['qwen-model', 'qwen2_vl', 6],
    ]);
    for (const model of compare.models) {
      expect(existsSync(join(out, model.slug, 'report.json'))).toBe(true);
      await expectSameAsOwnReport(model, join(out, model.slug));
      // Relative depth: both curves end at 1 whatever the depth.
      expect(model.sweeps[0].curve.at(-1)?.depth).toBe(1);
      expect(model.provenance.runs).toMatchObject({
        sweep: model.sweepRunId,
        evolve: model.evolution?.runId,
        contrast: model.contrast?.runId,
      });
    }

    const figures = Object.keys(compare.figures);
    expect(figures).toEqual(
      expect.arrayContaining([
        'fusion-curve-hidden',
        'fusion-curve-knockout',
        'evolution-box-mass',
        'contrastive-results',
      ]),
    );
    for (const name of figures) {
      expect(compare.figures[name].models).toEqual(['llava-model', 'qwen-model']);
      const svg = await readFile(join(out, 'compare', `${name}.svg`), 'utf8');
      expect(svg).toContain('data-provenance');
      const png = decodePng(await readFile(join(out, 'compare', `${name}.png`)));
      expect(png.width).toBeGreaterThan(700);
      expect(existsSync(join(out, 'compare', `${name}.csv`))).toBe(true);
    }
    const hidden = await readFile(join(out, 'compare', 'fusion-curve-hidden.svg'), 'utf8');
    for (const model of compare.models) {
      expect(hidden).toContain(model.name);
      expect(hidden).toContain(`sweep run ${model.sweepRunId}:`);
    }
  });

  it('gives the same numbers with the models one after another in this process (--jobs 1)', async () => {
    const out = join(root, 'report-sequential');
    const { code, stdout, stderr } = await runCli([
      ...['analyze', '--model', `${llava},${qwen}`, '--limit', '2', '--jobs', '1'],
      ...['--workspace', join(root, 'workspace-sequential'), '--out', out, '--provider', 'cpu'],
    ]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`report of ${qwen} written to ${join(out, 'qwen-model')}/`);
    const sequential = await readJson<CompareJson>(join(out, 'compare', 'compare.json'));
    const parallel = await readJson<CompareJson>(join(root, 'report', 'compare', 'compare.json'));
    const numbers = (compare: CompareJson) =>
      compare.models.map((m) => ({
        slug: m.slug,
        baseline: m.baseline,
        curves: m.sweeps.map((sweep) => sweep.curve.map((p) => [p.layer, p.drop?.mean ?? null])),
      }));
    // Each child runs its model on one thread: sums may be ordered differently, answers may not change.
    const a = numbers(sequential);
    const b = numbers(parallel);
    expect(a.map((m) => [m.slug, m.baseline])).toEqual(b.map((m) => [m.slug, m.baseline]));
    a.forEach((model, i) =>
      model.curves.forEach((curve, j) =>
        curve.forEach(([layer, drop], k) => {
          const [otherLayer, otherDrop] = b[i].curves[j][k];
          expect(layer).toBe(otherLayer);
          if (drop === null) expect(otherDrop).toBeNull();
          else expect(drop).toBeCloseTo(otherDrop as number, 6);
        }),
      ),
    );
  });

  it('Ctrl-C stops the models running side by side; the same command resumes, redoing no finished run', async () => {
    const ws = join(root, 'workspace-interrupted');
    const args = [
      ...['analyze', '--model', `${llava},${qwen}`, '--limit', '30', '--jobs', '2'],
      ...['--workspace', ws, '--out', join(root, 'report-interrupted'), '--provider', 'cpu'],
    ];
    // As a user runs it, in a process of its own, so that it can be interrupted.
    const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Both models computing: interrupt.
    while (!/^\[llava-model\] sweep run/m.test(stderr) || !/^\[qwen-model\] sweep run/m.test(stderr)) {
      if (child.exitCode !== null) throw new Error(`analyze ended before both models ran: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(0);
    expect(stderr).toContain('stopped; rerun the same command to resume');
    const before = runsIn(ws);
    // Stopped cleanly: no run left claimed by a process that is gone, and the job not done.
    expect(before.filter((run) => run.status === 'running')).toEqual([]);
    expect(before.filter((run) => run.status === 'done').length).toBeLessThan(14);

    const again = await runCli(args);
    expect(again.code, again.stderr).toBe(0);
    const after = runsIn(ws);
    expect(after.every((run) => run.status === 'done')).toBe(true);
    // Finished runs were kept as they were; unfinished ones were resumed, not started anew.
    for (const run of before) {
      const now = after.find((r) => r.id === run.id);
      if (run.status === 'done') expect(now).toEqual(run);
      else expect(now?.status).toBe('done');
    }
    expect(after).toHaveLength(14);
  });

  it('report --model A,B lays out the same reports and comparison from the runs already made', async () => {
    const runCount = () => {
      const ws = Workspace.open(workspace);
      try {
        return ws.listRuns({}).length;
      } finally {
        ws.close();
      }
    };
    const before = runCount();
    const out = join(root, 'report-again');
    const { code, stderr } = await runCli([
      ...['report', '--model', `${llava},${qwen}`, '--workspace', workspace, '--out', out],
    ]);
    expect(code, stderr).toBe(0);
    expect(runCount()).toBe(before);
    expect((await readdir(out)).sort()).toEqual(['compare', 'llava-model', 'qwen-model']);
    const again = await readJson<CompareJson>(join(out, 'compare', 'compare.json'));
    const analyzed = await readJson<CompareJson>(join(root, 'report', 'compare', 'compare.json'));
    expect(again.models).toEqual(analyzed.models);

    // A model never analysed has no runs to report: named, and the other's report is still written.
    const unseen = join(root, 'unseen', 'model');
    await writeTinyLlava(unseen, { seed: 14, dtype: 'F32', layout: 'modern' });
    const partial = await runCli([
      ...[
        'report',
        '--model',
        `${llava},${unseen}`,
        '--workspace',
        workspace,
        '--out',
        join(root, 'report-3'),
      ],
    ]);
    expect(partial.code).not.toBe(0);
    expect(partial.stderr).toContain(`1 of 2 models failed (${unseen}: `);
    expect(existsSync(join(root, 'report-3', 'llava-model', 'report.json'))).toBe(true);
    expect(runCount()).toBe(before);
  });

  it('goes on past a model that fails, and says which; the others and their comparison are written', async () => {
    const broken = join(root, 'broken', 'model');
    await writeTinyLlava(broken, { seed: 13, dtype: 'F32', layout: 'modern' });
    await writeFile(join(broken, 'model.safetensors'), 'not safetensors');
    const out = join(root, 'report-2');
    // A one-model report left there by an earlier analyze goes; a folder of the user's stays.
    await mkdir(join(out, 'notes'), { recursive: true });
    await writeFile(join(out, 'report.json'), '{}');
    await writeFile(join(out, 'fusion-curve.svg'), '<svg/>');
    const { code, stdout, stderr } = await runCli([
      ...['analyze', '--model', [qwen, broken, DEMO_MODEL_DIR].join(','), '--limit', '2', '--jobs', '2'],
      ...['--workspace', workspace, '--out', out, '--provider', 'cpu'],
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^error \\[BAD_WEIGHTS\\]: 1 of 3 models failed \\(${broken}: `, 'm'));
    expect(stdout).toContain('comparison of qwen-model, demo-model written');
    expect((await readdir(out)).sort()).toEqual(['compare', 'demo-model', 'notes', 'qwen-model']);

    const compare = await readJson<CompareJson>(join(out, 'compare', 'compare.json'));
    expect(compare.failed).toEqual([
      { model: broken, slug: 'broken-model', error: { code: 'BAD_WEIGHTS', message: expect.any(String) } },
    ]);
    const [tiny, demo] = compare.models;
    expect([tiny.slug, demo.slug, demo.layers]).toEqual(['qwen-model', 'demo-model', 12]);
    // The tiny model's runs were done by the test before: reused, not run again.
    const first = await readJson<CompareJson>(join(root, 'report', 'compare', 'compare.json'));
    expect(tiny.sweeps).toEqual(first.models[1].sweeps);
    // The trained demo model answers: its curves and refinements are not all zero.
    expect(demo.baseline).toBeGreaterThan(0);
    expect(demo.sweeps.flatMap((s) => s.curve.map((p) => p.drop?.mean)).some((d) => d !== 0)).toBe(true);
    await expectSameAsOwnReport(demo, join(out, 'demo-model'));
  });
});
