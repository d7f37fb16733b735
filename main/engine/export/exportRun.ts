/**
 * `fusionscope export`: one run of a workspace as files Python reads without FusionScope (layout in
 * docs/SCHEMA.md, "Exports"): the samples joined with their dataset items, per-layer metrics in long
 * format, an index of the stored arrays and their data, and the run's settings and provenance
 * (run.json). Everything is written into a fresh folder beside the target and renamed into place, so
 * the target holds a whole export or none.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

import packageJson from '../../../package.json' with { type: 'json' };
import { shownPath } from '../../../native-models/files/messageText.ts';
import { FusionError } from '../../common/errors.ts';
import type { RunRow } from '../../common/runs.ts';
import type { Workspace } from '../store/workspace.ts';
import { formatWriter, parseExportFormat, type ExportFormat, type FormatWriter } from './formats.ts';
import type { ArraySink } from './longArrays.ts';
import {
  arraysByName,
  arraysTable,
  checkArrayName,
  metricsTable,
  rowCount,
  runSamples,
  samplesTable,
  type ArrayEntry,
  type ExportTable,
  type RunSamples,
} from './tables.ts';

/** Bumped when a file or column changes meaning; run.json carries it. */
export const EXPORT_LAYOUT_VERSION = 1;
const RUN_FILE = 'run.json';

export interface ExportRequest {
  readonly workspace: Workspace;
  readonly runId: number;
  readonly format: ExportFormat;
  /** The folder to create (or, with `force`, to replace when it holds an earlier export). */
  readonly out: string;
  readonly force?: boolean;
}

export interface ExportSummary {
  readonly run: RunRow;
  /** The folder written, absolute. */
  readonly out: string;
  /** Files written, relative to `out`, in writing order. */
  readonly files: readonly string[];
  readonly samples: number;
  readonly metrics: number;
  readonly arrays: number;
  /** Why the samples carry no question, answers or family (the dataset could not be read); else null. */
  readonly datasetProblem: string | null;
}

/** Refuses an output the export must not write to; says whether an earlier export is to be replaced. */
async function checkOut(target: string, force: boolean): Promise<'new' | 'empty' | 'replace'> {
  const found = await stat(target).catch(() => undefined);
  if (!found) return 'new';
  if (!found.isDirectory()) {
    throw new FusionError('BAD_ARGUMENT', `--out: ${shownPath(target)} is a file, not a folder`);
  }
  if ((await readdir(target)).length === 0) return 'empty';
  if (!force) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `--out: ${shownPath(target)} exists and is not empty: give a new folder, or --force to replace an earlier export`,
    );
  }
  // --force replaces an export, never a folder of other files a typo pointed at.
  const marker = await readFile(join(target, RUN_FILE), 'utf8').catch(() => '');
  let layout: unknown;
  try {
    layout = (JSON.parse(marker) as { exportLayout?: unknown }).exportLayout;
  } catch {
    layout = undefined;
  }
  if (typeof layout !== 'number') {
    throw new FusionError(
      'BAD_ARGUMENT',
      `--out: ${shownPath(target)} holds files that are not a FusionScope export; --force replaces only an earlier export`,
    );
  }
  return 'replace';
}

/** Moves the finished `temp` folder to `target`, replacing an empty folder or (checked) earlier export. */
async function placeOutput(
  temp: string,
  target: string,
  existing: 'new' | 'empty' | 'replace',
): Promise<void> {
  if (existing === 'new') {
    await rename(temp, target);
    return;
  }
  const old = `${temp}-old`;
  await rename(target, old);
  try {
    await rename(temp, target);
  } catch (error) {
    await rename(old, target);
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}

function noRun(workspace: Workspace, runId: number): never {
  const ids = workspace.listRuns().map((r) => r.id);
  const there = ids.length
    ? `runs there: ${ids.slice(0, 20).join(', ')}${ids.length > 20 ? ', …' : ''}`
    : 'it has no runs';
  throw new FusionError(
    'BAD_ARGUMENT',
    `--run: no run ${runId} in the workspace ${shownPath(workspace.dir)} (${there})`,
  );
}

export async function exportRun(request: ExportRequest): Promise<ExportSummary> {
  const { workspace, runId } = request;
  const format = parseExportFormat(request.format);
  const run = workspace.findRun(runId) ?? noRun(workspace, runId);
  const target = resolve(request.out);
  const existing = await checkOut(target, request.force === true);
  await mkdir(dirname(target), { recursive: true });
  // Not mkdtemp: its folder is private (0700), and the export keeps the folder it is renamed to.
  const temp = join(
    dirname(target),
    `.${basename(target)}.partial-${process.pid}-${randomUUID().slice(0, 8)}`,
  );
  await mkdir(temp);
  try {
    const summary = await writeExport(workspace, run, formatWriter(format), format, temp);
    await placeOutput(temp, target, existing);
    return { ...summary, run, out: target };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

async function writeExport(
  workspace: Workspace,
  run: RunRow,
  writer: FormatWriter,
  format: ExportFormat,
  dir: string,
): Promise<Omit<ExportSummary, 'run' | 'out'>> {
  const files: string[] = [];
  /** Writes a table; returns its file name. */
  const table = (t: ExportTable): string => {
    const file = `${t.name}.${writer.tableExtension}`;
    writer.writeTable(join(dir, file), t);
    files.push(file);
    return file;
  };
  const samples = await runSamples(workspace, run);
  const samplesFile = table(samplesTable(samples));
  const metrics = metricsTable(workspace, run.id, samples);
  const metricsFile = table(metrics);
  const entries = await writeArrays(workspace, run.id, samples, writer, dir);
  files.push(...new Set(entries.map((e) => e.file)));
  const arraysFile = table(arraysTable(entries, samples));

  const runJson = {
    exportLayout: EXPORT_LAYOUT_VERSION,
    format,
    exportedAt: new Date().toISOString(),
    exportedBy: `fusionscope ${packageJson.version}`,
    workspace: workspace.dir,
    run: {
      id: run.id,
      kind: run.kind,
      status: run.status,
      total: run.total,
      done: run.done,
      failed: run.failed,
      error: run.error,
      createdAt: run.createdAt,
      updatedAt: run.updatedAt,
    },
    settings: run.config,
    provenance: run.provenance,
    model: run.model,
    dataset: { ...run.dataset, problem: samples.datasetProblem },
    files: {
      samples: samplesFile,
      metrics: metricsFile,
      arrays: arraysFile,
      arrayData: Object.fromEntries(entries.map((e) => [e.name, e.file])),
    },
    counts: { samples: samples.rows.length, metrics: rowCount(metrics), arrays: entries.length },
  };
  await writeFile(join(dir, RUN_FILE), `${JSON.stringify(runJson, null, 2)}\n`, { flag: 'wx' });
  files.push(RUN_FILE);
  return {
    files,
    samples: samples.rows.length,
    metrics: rowCount(metrics),
    arrays: entries.length,
    datasetProblem: samples.datasetProblem,
  };
}

/** Each array name's data into one file, sample by sample (one array in memory at a time). */
async function writeArrays(
  workspace: Workspace,
  runId: number,
  samples: RunSamples,
  writer: FormatWriter,
  dir: string,
): Promise<ArrayEntry[]> {
  const entries: ArrayEntry[] = [];
  const byName = arraysByName(workspace, runId, samples);
  if (byName.size > 0) await mkdir(join(dir, 'arrays'));
  for (const [name, sampleList] of byName) {
    const file = `arrays/${checkArrayName(name)}.${writer.arrayExtension}`;
    let sink: ArraySink | undefined;
    try {
      for (const sample of sampleList) {
        const array = workspace.readArray(runId, samples.rows[sample].itemId, name);
        if (!array) continue;
        sink ??= writer.openArrays(join(dir, file), name, array.shape.length);
        const key = sink.add(sample, array);
        entries.push({ sample, name, dtype: array.dtype, shape: array.shape, file, key });
      }
      sink?.close();
    } catch (error) {
      sink?.abort();
      throw error;
    }
  }
  return entries;
}
