/**
 * The export formats, and how each writes tables and array data: CSV and Parquet as long tables
 * (longArrays.ts), npz as one NumPy file per array name with a member per sample.
 */
import { FusionError } from '../../common/errors.ts';
import type { StoredArray } from '../../common/runs.ts';
import { LongArrayCsv, writeCsvTable } from './csvFiles.ts';
import type { ArraySink } from './longArrays.ts';
import { NpzWriter } from './npy.ts';
import { LongArrayParquet, writeParquetTable } from './parquetFiles.ts';
import type { ExportTable } from './tables.ts';

export const EXPORT_FORMATS = ['csv', 'parquet', 'npz'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** `value` as a format, or BAD_ARGUMENT naming the formats there are. */
export function parseExportFormat(value: unknown): ExportFormat {
  if (typeof value === 'string' && (EXPORT_FORMATS as readonly string[]).includes(value)) {
    return value as ExportFormat;
  }
  throw new FusionError(
    'BAD_ARGUMENT',
    `--format: ${JSON.stringify(String(value).slice(0, 40))} is not one of ${EXPORT_FORMATS.join(', ')}`,
  );
}

/** How one format writes tables and array data. */
export interface FormatWriter {
  readonly tableExtension: string;
  writeTable(path: string, table: ExportTable): void;
  readonly arrayExtension: string;
  openArrays(path: string, name: string, rank: number): ArraySink;
}

class NpzSink implements ArraySink {
  private readonly npz: NpzWriter;

  constructor(path: string) {
    this.npz = new NpzWriter(path);
  }

  add(sample: number, array: StoredArray): string {
    // Keys are sample numbers: item ids may hold any character, and `sample` joins the tables.
    const key = String(sample);
    this.npz.add(key, { dtype: array.dtype, shape: array.shape, data: array.data });
    return key;
  }

  close(): void {
    this.npz.close();
  }

  abort(): void {
    this.npz.abort();
  }
}

const WRITERS: Record<ExportFormat, FormatWriter> = {
  csv: {
    tableExtension: 'csv',
    writeTable: writeCsvTable,
    arrayExtension: 'csv',
    openArrays: (path, name, rank) => new LongArrayCsv(path, name, rank),
  },
  parquet: {
    tableExtension: 'parquet',
    writeTable: writeParquetTable,
    arrayExtension: 'parquet',
    openArrays: (path, name, rank) => new LongArrayParquet(path, name, rank),
  },
  // Tables stay tables (CSV); NumPy gets the arrays, each sample's whole, shapes kept.
  npz: {
    tableExtension: 'csv',
    writeTable: writeCsvTable,
    arrayExtension: 'npz',
    openArrays: (path) => new NpzSink(path),
  },
};

export function formatWriter(format: ExportFormat): FormatWriter {
  return WRITERS[parseExportFormat(format)];
}
