/**
 * A run as the tables an export writes (docs/SCHEMA.md, "Exports"): one row per sample, joined with its
 * dataset item when the dataset can still be read; one row per (sample, metric, layer); one row per
 * stored array. Columns are typed once here, so CSV and Parquet write the same table.
 */
import { FusionError } from '../../common/errors.ts';
import type { RunRow, SampleRow } from '../../common/runs.ts';
import { isFormatName, openDataset, type DatasetItem } from '../datasets/index.ts';
import type { Workspace } from '../store/workspace.ts';

export type ColumnType = 'int32' | 'double' | 'string' | 'boolean';
export type Cell = string | number | boolean | null;

export interface ExportColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly values: readonly Cell[];
}

export interface ExportTable {
  /** The file name without extension. */
  readonly name: string;
  readonly columns: readonly ExportColumn[];
}

export const rowCount = (table: ExportTable): number => table.columns[0]?.values.length ?? 0;

/** The run's samples in dataset order; a sample's index here is its `sample` number in every file. */
export interface RunSamples {
  readonly rows: readonly SampleRow[];
  /** Item id → sample number. */
  readonly index: ReadonlyMap<string, number>;
  /** Items by id; empty when the dataset could not be read (then `datasetProblem` says why). */
  readonly items: ReadonlyMap<string, DatasetItem>;
  readonly datasetProblem: string | null;
}

export async function runSamples(workspace: Workspace, run: RunRow): Promise<RunSamples> {
  const rows = workspace.readSamples(run.id);
  let items = new Map<string, DatasetItem>();
  let datasetProblem: string | null = null;
  try {
    const format = isFormatName(run.dataset.format) ? run.dataset.format : undefined;
    // Images are not read: only the items' questions, answers and families are joined.
    const dataset = await openDataset(run.dataset.path, { format, checkImages: false });
    items = new Map(dataset.items.map((item) => [item.id, item]));
  } catch (error) {
    datasetProblem = error instanceof Error ? error.message : String(error);
  }
  return { rows, index: new Map(rows.map((row, i) => [row.itemId, i])), items, datasetProblem };
}

function column(name: string, type: ColumnType, values: readonly Cell[]): ExportColumn {
  return { name, type, values };
}

/** A result field's column type: numbers, strings or booleans alone keep their type; anything else is JSON text. */
function fieldType(values: readonly unknown[]): ColumnType | 'json' {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) return 'string';
  if (present.every((v) => typeof v === 'number')) return 'double';
  if (present.every((v) => typeof v === 'boolean')) return 'boolean';
  if (present.every((v) => typeof v === 'string')) return 'string';
  return 'json';
}

/**
 * The result's top-level fields as columns `result_<field>` (every analysis's own result: eval's
 * `answer` and `score`, a sweep's `baselineAnswer` …), lists and objects as JSON text.
 */
function resultColumns(rows: readonly SampleRow[]): ExportColumn[] {
  const fields: string[] = [];
  for (const row of rows) {
    const result = row.result;
    if (result === null || typeof result !== 'object' || Array.isArray(result)) continue;
    for (const key of Object.keys(result)) if (!fields.includes(key)) fields.push(key);
  }
  return fields.map((field) => {
    const raw = rows.map((row) =>
      row.result !== null && typeof row.result === 'object'
        ? (row.result as Record<string, unknown>)[field]
        : undefined,
    );
    const type = fieldType(raw);
    const values = raw.map((v): Cell =>
      v === undefined || v === null ? null : type === 'json' ? JSON.stringify(v) : (v as Cell),
    );
    return column(`result_${field}`, type === 'json' ? 'string' : type, values);
  });
}

export function samplesTable(samples: RunSamples): ExportTable {
  const { rows, items } = samples;
  const item = (row: SampleRow) => items.get(row.itemId);
  return {
    name: 'samples',
    columns: [
      column(
        'sample',
        'int32',
        rows.map((_, i) => i),
      ),
      column(
        'item_id',
        'string',
        rows.map((r) => r.itemId),
      ),
      column(
        'status',
        'string',
        rows.map((r) => r.status),
      ),
      column(
        'error',
        'string',
        rows.map((r) => r.error),
      ),
      column(
        'duration_ms',
        'double',
        rows.map((r) => r.durationMs),
      ),
      column(
        'question',
        'string',
        rows.map((r) => item(r)?.question ?? null),
      ),
      column(
        'gold',
        'string',
        rows.map((r) => item(r)?.answers[0] ?? null),
      ),
      column(
        'answers',
        'string',
        rows.map((r) => (item(r) ? JSON.stringify(item(r)!.answers) : null)),
      ),
      column(
        'family',
        'string',
        rows.map((r) => item(r)?.family ?? null),
      ),
      column(
        'metric',
        'string',
        rows.map((r) => item(r)?.metric ?? null),
      ),
      column(
        'image',
        'string',
        rows.map((r) => item(r)?.imagePath ?? null),
      ),
      column(
        'result',
        'string',
        rows.map((r) => (r.result === null ? null : JSON.stringify(r.result))),
      ),
      ...resultColumns(rows),
    ],
  };
}

/** Long format: one row per sample, metric and layer, ordered so. NaN stays NaN (SQL NULL in the store). */
export function metricsTable(workspace: Workspace, runId: number, samples: RunSamples): ExportTable {
  const rows: { sample: number; name: string; layer: number; value: number }[] = [];
  for (const name of workspace.metricNames(runId)) {
    for (const point of workspace.layerMetric(runId, name)) {
      point.itemIds.forEach((itemId, i) => {
        const sample = samples.index.get(itemId);
        // A sample recorded after the samples were read (the run is still going) is left out.
        if (sample !== undefined) rows.push({ sample, name, layer: point.layer, value: point.values[i] });
      });
    }
  }
  rows.sort(
    (a, b) => a.sample - b.sample || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || a.layer - b.layer,
  );
  const ids = samples.rows.map((r) => r.itemId);
  return {
    name: 'metrics',
    columns: [
      column(
        'sample',
        'int32',
        rows.map((r) => r.sample),
      ),
      column(
        'item_id',
        'string',
        rows.map((r) => ids[r.sample]),
      ),
      column(
        'name',
        'string',
        rows.map((r) => r.name),
      ),
      column(
        'layer',
        'int32',
        rows.map((r) => r.layer),
      ),
      column(
        'value',
        'double',
        rows.map((r) => r.value),
      ),
    ],
  };
}

/** One stored array as the arrays table lists it. */
export interface ArrayEntry {
  readonly sample: number;
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** The data file, relative to the export folder. */
  readonly file: string;
  /** The member of an `.npz` file; null in the long formats. */
  readonly key: string | null;
}

export function arraysTable(entries: readonly ArrayEntry[], samples: RunSamples): ExportTable {
  const ids = samples.rows.map((r) => r.itemId);
  return {
    name: 'arrays',
    columns: [
      column(
        'sample',
        'int32',
        entries.map((e) => e.sample),
      ),
      column(
        'item_id',
        'string',
        entries.map((e) => ids[e.sample]),
      ),
      column(
        'name',
        'string',
        entries.map((e) => e.name),
      ),
      column(
        'dtype',
        'string',
        entries.map((e) => e.dtype),
      ),
      column(
        'shape',
        'string',
        entries.map((e) => JSON.stringify(e.shape)),
      ),
      column(
        'file',
        'string',
        entries.map((e) => e.file),
      ),
      column(
        'key',
        'string',
        entries.map((e) => e.key),
      ),
    ],
  };
}

/** Array names become file names: the analyses' names are identifiers; anything else is refused. */
export function checkArrayName(name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(name)) {
    throw new FusionError('STORE', `array name ${JSON.stringify(name.slice(0, 80))} cannot be a file name`);
  }
  return name;
}

/** Every array name the samples stored, in first-seen order, with the samples that have it. */
export function arraysByName(
  workspace: Workspace,
  runId: number,
  samples: RunSamples,
): Map<string, number[]> {
  const byName = new Map<string, number[]>();
  samples.rows.forEach((row, sample) => {
    for (const name of workspace.arrayNames(runId, row.itemId)) {
      const list = byName.get(name) ?? [];
      list.push(sample);
      byName.set(name, list);
    }
  });
  return byName;
}
