/**
 * `fusionscope export` round trips: runs of the demo model (an evolve run keeping hidden states, an eval
 * run) and a hand-made run with awkward values (NaN, −0, infinities, subnormals, quotes, commas and
 * newlines in ids and messages, ragged arrays, an error sample, a dataset that is gone) are exported in
 * each format, read back by independent readers (readExport.testing.ts) and compared with what the
 * workspace returns: ids, texts and JSON equal, numbers and array elements bit for bit (NaN as NaN).
 * Then the refusals, and that a failed export leaves nothing behind.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SampleRow } from '../../common/runs.ts';
import { runCli } from '../cli.testing.ts';
import { openDataset } from '../datasets/index.ts';
import { DEMO_DATASET_DIR } from '../demo.ts';
import { Workspace } from '../store/workspace.ts';
import { exportRun } from './exportRun.ts';
import { EXPORT_FORMATS, type ExportFormat } from './formats.ts';
import { readExport, type ReadExport, type Row } from './readExport.testing.ts';

let root: string;
let demo: string;
let made: string;
/** Run ids in the demo workspace. */
const runs = { evolve: 0, eval: 0 };
let madeRun = 0;

const ITEMS = 3;
const HIDDEN_REQUEST = 'layers=0,7;positions=question';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-export-'));
  demo = join(root, 'demo-workspace');
  for (const [kind, extra] of [
    ['evolve', ['--store-hidden', HIDDEN_REQUEST]],
    ['eval', []],
  ] as const) {
    const { code, stderr } = await runCli([kind, '--limit', String(ITEMS), '--workspace', demo, ...extra]);
    if (code !== 0) throw new Error(stderr);
  }
  const workspace = Workspace.open(demo);
  for (const run of workspace.listRuns()) runs[run.kind as 'evolve' | 'eval'] = run.id;
  workspace.close();
  made = join(root, 'made-workspace');
  madeRun = makeAwkwardRun(made);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const AWKWARD_IDS = ['a,"b"\nc', 'ü-2', 'err'];

/** A run written straight into a workspace, with what a file format finds hardest. */
function makeAwkwardRun(dir: string): number {
  const workspace = Workspace.open(dir);
  try {
    const run = workspace.createRun({
      kind: 'eval',
      model: { folder: '/models/none', fingerprint: 'f', info: {} },
      dataset: {
        path: join(dir, 'no-such-dataset'),
        format: 'fusionscope-vqa',
        name: 'gone',
        itemIds: AWKWARD_IDS,
      },
      config: { promptSuffix: 'a "quoted", suffix' },
    });
    workspace.recordSample(run.id, {
      itemId: AWKWARD_IDS[0],
      position: 0,
      status: 'ok',
      durationMs: 12.25,
      result: { answer: 'x, "y"\nz', score: 0.5, flag: true, list: [1, 2], nested: { k: 'v' }, mixed: 1 },
      metrics: [
        { name: 'm', layer: 0, value: Number.NaN },
        { name: 'm', layer: 1, value: -0 },
        { name: 'm', layer: 2, value: Infinity },
        { name: 'n', layer: 0, value: 1e-300 },
      ],
      arrays: [
        {
          name: 'grid',
          data: Float32Array.of(1.5, -0, Number.NaN, Infinity, -Infinity, 1e-45),
          shape: [2, 3],
        },
        { name: 'vec', data: Float32Array.of(0.1, 0.2, 0.3, 3.4028234663852886e38), shape: [4] },
      ],
    });
    workspace.recordSample(run.id, {
      itemId: AWKWARD_IDS[1],
      position: 1,
      status: 'ok',
      result: { answer: 'ü', score: null, mixed: 'text' },
      metrics: [{ name: 'm', layer: 0, value: -1.5 }],
      // Ragged: another sample's grid has another shape.
      arrays: [{ name: 'grid', data: Float32Array.of(7, 8, 9), shape: [1, 3] }],
    });
    workspace.recordSample(run.id, {
      itemId: 'err',
      position: 2,
      status: 'error',
      error: 'boom, "bad"\nline two',
    });
    workspace.markRun(run.id, 'done');
    return run.id;
  } finally {
    workspace.close();
  }
}

/** Float32 elements equal bit for bit, but any NaN equal to any NaN (CSV and Parquet readers canonicalise NaN). */
function sameFloats(actual: Float32Array, expected: Float32Array): boolean {
  if (actual.length !== expected.length) return false;
  return expected.every((v, i) => Object.is(v, actual[i]));
}

function expectSamples(read: ReadExport, stored: readonly SampleRow[]): void {
  expect(read.samples.map((s) => s.item_id)).toEqual(stored.map((s) => s.itemId));
  read.samples.forEach((row, i) => {
    const s = stored[i];
    expect(row.sample).toBe(i);
    expect(row.status).toBe(s.status);
    expect(row.error ?? null).toBe(s.error);
    expect(row.duration_ms ?? null).toBe(s.durationMs);
    expect(row.result === null || row.result === undefined ? null : JSON.parse(String(row.result))).toEqual(
      s.result,
    );
  });
}

function expectMetrics(
  read: ReadExport,
  workspace: Workspace,
  runId: number,
  stored: readonly SampleRow[],
): void {
  const expected = stored.flatMap((s, i) =>
    workspace.sampleMetrics(runId, s.itemId).map((m) => ({ sample: i, item_id: s.itemId, ...m })),
  );
  expect(read.metrics).toHaveLength(expected.length);
  const key = (r: Row) => `${String(r.sample)}/${String(r.name)}/${String(r.layer)}`;
  const got = new Map(read.metrics.map((r) => [key(r), r]));
  for (const e of expected) {
    const row = got.get(key(e))!;
    expect(row, key(e)).toBeDefined();
    expect(row.item_id).toBe(e.item_id);
    expect(Object.is(Number(row.value), e.value), `${key(e)}: ${String(row.value)} vs ${e.value}`).toBe(true);
  }
}

function expectArrays(
  read: ReadExport,
  workspace: Workspace,
  runId: number,
  stored: readonly SampleRow[],
): number {
  let count = 0;
  stored.forEach((s, sample) => {
    for (const name of workspace.arrayNames(runId, s.itemId)) {
      const array = workspace.readArray(runId, s.itemId, name)!;
      const back = read.data.get(name)?.get(sample);
      expect(back, `${name}[${sample}]`).toBeDefined();
      expect(back!.shape).toEqual(array.shape);
      expect(sameFloats(back!.data, array.data), `${name}[${sample}]`).toBe(true);
      const entry = read.arrays.find((a) => a.sample === sample && a.name === name)!;
      expect([entry.item_id, entry.dtype, JSON.parse(String(entry.shape))]).toEqual([
        s.itemId,
        'float32',
        array.shape,
      ]);
      count++;
    }
  });
  expect(read.arrays).toHaveLength(count);
  return count;
}

async function exportAndRead(workspaceDir: string, runId: number, format: ExportFormat, out: string) {
  const { code, stdout, stderr } = await runCli([
    'export',
    '--run',
    String(runId),
    '--format',
    format,
    '--out',
    out,
    '--workspace',
    workspaceDir,
  ]);
  expect(stderr).not.toMatch(/^error/m);
  expect(code).toBe(0);
  return { stdout, stderr, read: await readExport(out) };
}

describe.each(EXPORT_FORMATS.map((format) => [format]))('export --format %s', (format) => {
  it('round-trips an evolve run with hidden states: samples with their items, metrics, every array', async () => {
    const out = join(root, `evolve-${format}`);
    const { stdout, read } = await exportAndRead(demo, runs.evolve, format, out);
    const workspace = Workspace.openForReading(demo);
    try {
      const stored = workspace.readSamples(runs.evolve);
      expect(stored).toHaveLength(ITEMS);
      expectSamples(read, stored);
      const items = new Map((await openDataset(DEMO_DATASET_DIR)).items.map((item) => [item.id, item]));
      for (const row of read.samples) {
        const item = items.get(String(row.item_id))!;
        expect([row.question, row.gold, row.family, row.metric, row.image]).toEqual([
          item.question,
          item.answers[0],
          item.family,
          item.metric,
          item.imagePath,
        ]);
        expect(JSON.parse(String(row.answers))).toEqual(item.answers);
      }
      expectMetrics(read, workspace, runs.evolve, stored);
      const arrays = expectArrays(read, workspace, runs.evolve, stored);
      // maps + the four hidden-state arrays, per sample.
      expect(arrays).toBe(5 * ITEMS);
      // [layers 0 and 7, the question's positions, the model's width]
      const [layers, positions, width] = read.data.get('hidden_states')!.get(0)!.shape;
      expect([layers, width]).toEqual([
        2,
        (read.run.model as { info: { summary: { hiddenSize: number } } }).info.summary.hiddenSize,
      ]);
      expect(read.data.get('hidden_positions')!.get(0)!.shape).toEqual([positions]);
      expect(read.run).toMatchObject({
        exportLayout: 1,
        format,
        run: { id: runs.evolve, kind: 'evolve', status: 'done', done: ITEMS },
        settings: { storeHidden: HIDDEN_REQUEST },
        provenance: { settings: { storeHidden: HIDDEN_REQUEST } },
        dataset: { problem: null },
        counts: { samples: ITEMS, metrics: read.metrics.length, arrays },
      });
      expect(stdout).toContain(`exported evolve run ${runs.evolve} (${ITEMS} samples,`);
    } finally {
      workspace.close();
    }
  });

  it('round-trips an eval run: its answers and scores as result columns', async () => {
    const out = join(root, `eval-${format}`);
    const { read } = await exportAndRead(demo, runs.eval, format, out);
    const workspace = Workspace.openForReading(demo);
    try {
      const stored = workspace.readSamples<{ answer: string; score: number | null }>(runs.eval);
      expectSamples(read, stored);
      // CSV has no types: its score is the number's text.
      const score = (v: unknown) => (v === null || v === undefined ? null : Number(v));
      expect(read.samples.map((s) => [s.result_answer, score(s.result_score)])).toEqual(
        stored.map((s) => [s.result!.answer, s.result!.score]),
      );
      expectMetrics(read, workspace, runs.eval, stored);
      expect(read.arrays).toEqual([]);
      expect(existsSync(join(out, 'arrays'))).toBe(false);
    } finally {
      workspace.close();
    }
  });

  it('round-trips awkward values bit for bit, and exports a run whose dataset is gone', async () => {
    const out = join(root, `made-${format}`);
    const workspace = Workspace.open(made);
    try {
      const summary = await exportRun({ workspace, runId: madeRun, format, out });
      expect(summary.datasetProblem).toMatch(/no-such-dataset/);
      const read = await readExport(out);
      const stored = workspace.readSamples(madeRun);
      expectSamples(read, stored);
      expectMetrics(read, workspace, madeRun, stored);
      expect(expectArrays(read, workspace, madeRun, stored)).toBe(3);
      expect(read.samples.map((s) => s.question ?? null)).toEqual([null, null, null]);
      // Result fields: numbers and booleans keep their type, lists and objects (and mixed types) are JSON.
      const first = read.samples[0];
      // Typed in Parquet; in CSV, the text pandas reads as the same number and boolean.
      expect([first.result_answer, first.result_score, first.result_flag]).toEqual(
        format === 'parquet' ? ['x, "y"\nz', 0.5, true] : ['x, "y"\nz', '0.5', 'true'],
      );
      expect(JSON.parse(String(first.result_list))).toEqual([1, 2]);
      expect(JSON.parse(String(first.result_nested))).toEqual({ k: 'v' });
      expect(
        read.samples.map((s) => (s.result_mixed == null ? null : JSON.parse(String(s.result_mixed)))),
      ).toEqual([1, 'text', null]);
      expect(read.run).toMatchObject({
        dataset: { name: 'gone', problem: expect.stringMatching(/no-such-dataset/) },
      });
      if (format === 'parquet') {
        expect(read.parquetTypes.get('samples.parquet')).toMatchObject({
          sample: 'INT32',
          item_id: 'BYTE_ARRAY',
          duration_ms: 'DOUBLE?',
          result_score: 'DOUBLE?',
          result_flag: 'BOOLEAN?',
        });
        expect(read.parquetTypes.get('arrays/grid.parquet')).toEqual({
          sample: 'INT32',
          d0: 'INT32',
          d1: 'INT32',
          value: 'FLOAT',
        });
      }
    } finally {
      workspace.close();
    }
  });
});

describe('export refusals', () => {
  const args = (out: string, ...more: string[]) => [
    'export',
    '--run',
    String(runs.eval),
    '--out',
    out,
    '--workspace',
    demo,
    ...more,
  ];

  it('names an unknown run with the runs there are, and an unknown format with the formats there are', async () => {
    const unknown = await runCli(['export', '--run', '99', '--out', join(root, 'x'), '--workspace', demo]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no run 99 in the workspace .* \(runs there: 2, 1\)/);
    const format = await runCli(args(join(root, 'x'), '--format', 'xlsx'));
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--format: "xlsx" is not one of csv, parquet, npz');
    const noRun = await runCli(['export', '--out', join(root, 'x'), '--workspace', demo]);
    expect(noRun.stderr).toContain('--run is required');
    const missing = await runCli([
      'export',
      '--run',
      '1',
      '--out',
      join(root, 'x'),
      '--workspace',
      join(root, 'none'),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--workspace: no workspace database in/);
    expect(existsSync(join(root, 'none'))).toBe(false);
    expect(existsSync(join(root, 'x'))).toBe(false);
  });

  it('refuses a non-empty --out unless --force, and --force replaces only an earlier export', async () => {
    const out = join(root, 'again');
    expect((await runCli(args(out))).code).toBe(0);
    const again = await runCli(args(out, '--format', 'npz'));
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists and is not empty: give a new folder, or --force/);
    const forced = await runCli(args(out, '--format', 'npz', '--force'));
    expect(forced.code).toBe(0);
    expect(JSON.parse(await readFile(join(out, 'run.json'), 'utf8'))).toMatchObject({ format: 'npz' });

    const mine = join(root, 'my-folder');
    await mkdir(mine);
    await writeFile(join(mine, 'notes.txt'), 'keep me');
    const refused = await runCli(args(mine, '--force'));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/holds files that are not a FusionScope export/);
    expect(await readFile(join(mine, 'notes.txt'), 'utf8')).toBe('keep me');

    const empty = join(root, 'empty-folder');
    await mkdir(empty);
    expect((await runCli(args(empty))).code).toBe(0);
    expect(existsSync(join(empty, 'samples.csv'))).toBe(true);

    await writeFile(join(root, 'a-file'), '');
    const file = await runCli(args(join(root, 'a-file')));
    expect(file.stderr).toMatch(/is a file, not a folder/);
  });

  it('leaves neither the target nor a partial folder when the export fails midway', async () => {
    const dir = join(root, 'bad-workspace');
    const workspace = Workspace.open(dir);
    try {
      const run = workspace.createRun({
        kind: 'eval',
        model: { folder: '/m', fingerprint: 'f', info: {} },
        dataset: { path: '/nowhere', format: 'fusionscope-vqa', name: 'n', itemIds: ['a'] },
        config: {},
      });
      // An array name no file may carry: found after the samples and metrics files are written.
      workspace.recordSample(run.id, {
        itemId: 'a',
        status: 'ok',
        result: {},
        arrays: [{ name: '../escape', data: new Float32Array(1), shape: [1] }],
      });
      const parent = join(root, 'failed');
      await mkdir(parent);
      await expect(
        exportRun({ workspace, runId: run.id, format: 'csv', out: join(parent, 'out') }),
      ).rejects.toThrow(/array name "..\/escape" cannot be a file name/);
      expect(await readdir(parent)).toEqual([]);
    } finally {
      workspace.close();
    }
  });
});
