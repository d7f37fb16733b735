/**
 * Reads an export folder back without the export code: CSV through the dataset importer's RFC 4180
 * parser, Parquet through hyparquet, npz through the test reader (npz.testing.ts); long array tables
 * are put back together from each row's indices and the shape the arrays table gives, every element
 * exactly once. What comes back is compared with the workspace by the tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parquetMetadata, parquetReadObjects } from 'hyparquet';

import { parseCsv } from '../datasets/csv.ts';
import { readNpz } from './npz.testing.ts';

export type Row = Record<string, unknown>;

export interface ReadArray {
  readonly shape: number[];
  readonly data: Float32Array;
}

export interface ReadExport {
  readonly run: Record<string, unknown>;
  readonly samples: Row[];
  readonly metrics: Row[];
  readonly arrays: Row[];
  /** name → sample → array. */
  readonly data: Map<string, Map<number, ReadArray>>;
  /** Parquet only: each file's schema, column name → physical type. */
  readonly parquetTypes: Map<string, Record<string, string>>;
}

/** A CSV number cell as the export writes it: '' NaN, inf / -inf, else a decimal. */
function csvNumber(text: string): number {
  if (text === '') return Number.NaN;
  if (text === 'inf') return Infinity;
  if (text === '-inf') return -Infinity;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`not a number: ${JSON.stringify(text)}`);
  return value;
}

const NUMERIC = new Set(['sample', 'layer', 'value', 'duration_ms']);

/** CSV rows as objects; numeric columns as numbers, empty text cells as null. */
function readCsv(path: string, numeric: (column: string) => boolean): Row[] {
  const [header, ...records] = parseCsv(readFileSync(path, 'utf8'));
  return records.map((record) =>
    Object.fromEntries(
      header.fields.map((name, i) => {
        const cell = record.fields[i];
        // An empty `value` is NaN (metrics, array elements); any other empty cell is a missing value.
        if (name === 'value') return [name, csvNumber(cell)];
        return [name, cell === '' ? null : numeric(name) ? csvNumber(cell) : cell];
      }),
    ),
  );
}

async function readParquet(
  path: string,
  types: Map<string, Record<string, string>>,
  key: string,
): Promise<Row[]> {
  const bytes = readFileSync(path);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const metadata = parquetMetadata(file);
  types.set(
    key,
    Object.fromEntries(
      metadata.schema
        .slice(1)
        .map((e) => [e.name, `${e.type}${e.repetition_type === 'OPTIONAL' ? '?' : ''}`]),
    ),
  );
  const rows = (await parquetReadObjects({ file })) as Row[];
  // hyparquet reads null where a value is absent; numbers stay numbers.
  return rows;
}

/** Puts long rows (`sample, d0 … dk, value`) back into arrays of the given shapes. */
function assemble(rows: readonly Row[], shapes: Map<number, number[]>): Map<number, ReadArray> {
  const arrays = new Map<number, ReadArray>();
  const seen = new Map<number, Uint8Array>();
  for (const [sample, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    arrays.set(sample, { shape, data: new Float32Array(size) });
    seen.set(sample, new Uint8Array(size));
  }
  for (const row of rows) {
    const sample = Number(row.sample);
    const array = arrays.get(sample);
    if (!array) throw new Error(`a row for sample ${sample}, which the arrays table does not list`);
    let flat = 0;
    array.shape.forEach((dim, d) => {
      const index = Number(row[`d${d}`]);
      if (!(index >= 0 && index < dim)) throw new Error(`index d${d}=${index} outside ${dim}`);
      flat = flat * dim + index;
    });
    if (seen.get(sample)![flat]++) throw new Error(`sample ${sample} element ${flat} twice`);
    array.data[flat] = Number(row.value);
  }
  for (const [sample, marks] of seen) {
    if (marks.includes(0)) throw new Error(`sample ${sample}: elements missing`);
  }
  return arrays;
}

export async function readExport(dir: string): Promise<ReadExport> {
  const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as Record<string, unknown>;
  const files = run.files as { samples: string; metrics: string; arrays: string };
  const parquet = run.format === 'parquet';
  const parquetTypes = new Map<string, Record<string, string>>();
  const table = (file: string, numeric: (c: string) => boolean) =>
    parquet
      ? readParquet(join(dir, file), parquetTypes, file)
      : Promise.resolve(readCsv(join(dir, file), numeric));
  const samples = await table(files.samples, (c) => NUMERIC.has(c));
  const metrics = await table(files.metrics, (c) => NUMERIC.has(c));
  const arrays = await table(files.arrays, (c) => c === 'sample');
  const data = new Map<string, Map<number, ReadArray>>();
  const byFile = new Map<string, Row[]>();
  for (const entry of arrays) {
    const list = byFile.get(String(entry.file)) ?? [];
    list.push(entry);
    byFile.set(String(entry.file), list);
  }
  for (const [file, entries] of byFile) {
    const name = String(entries[0].name);
    if (run.format === 'npz') {
      const npz = readNpz(join(dir, file));
      data.set(
        name,
        new Map(
          entries.map((e) => {
            const read = npz.get(String(e.key))!;
            if (read.descr !== '<f4') throw new Error(`${file}[${String(e.key)}]: ${read.descr}`);
            return [Number(e.sample), { shape: read.shape, data: read.data as Float32Array }];
          }),
        ),
      );
      continue;
    }
    const shapes = new Map(entries.map((e) => [Number(e.sample), JSON.parse(String(e.shape)) as number[]]));
    const rows = await table(file, () => true);
    data.set(name, assemble(rows, shapes));
  }
  return { run, samples, metrics, arrays, data, parquetTypes };
}
