/**
 * Export tables and long arrays as CSV (RFC 4180, through the report's `toCsv` for tables). Numbers are
 * written so that they read back exactly: the shortest decimal that round-trips the double (a float32
 * widened to double reads back as that float32), `-0` kept, NaN empty (pandas reads NaN), infinities as
 * `inf` / `-inf` (which pandas and Python's `float()` read).
 */
import { writeFileSync } from 'node:fs';

import type { StoredArray } from '../../common/runs.ts';
import { toCsv } from '../report/table/csv.ts';
import { OutputFile } from './outputFile.ts';
import { checkRank, forEachElement, longColumns, type ArraySink } from './longArrays.ts';
import { rowCount, type Cell, type ExportTable } from './tables.ts';

export function csvNumber(value: number): string {
  if (Number.isNaN(value)) return '';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return Object.is(value, -0) ? '-0' : String(value);
}

function csvCell(cell: Cell): string | null {
  if (typeof cell === 'number') return csvNumber(cell);
  if (typeof cell === 'boolean') return cell ? 'true' : 'false';
  return cell;
}

export function writeCsvTable(path: string, table: ExportTable): void {
  const rows = Array.from({ length: rowCount(table) }, (_, r) =>
    table.columns.map((c) => csvCell(c.values[r])),
  );
  writeFileSync(
    path,
    toCsv(
      table.columns.map((c) => c.name),
      rows,
    ),
    { flag: 'wx' },
  );
}

/** Lines are gathered up to about this many characters before each write. */
const FLUSH_CHARS = 1 << 20;

export class LongArrayCsv implements ArraySink {
  private readonly file: OutputFile;
  private pending: string[] = [];
  private pendingChars = 0;
  private closed = false;

  constructor(
    path: string,
    private readonly name: string,
    private readonly rank: number,
  ) {
    this.file = new OutputFile(path);
    this.push(`${longColumns(rank).join(',')}\r\n`);
  }

  add(sample: number, array: StoredArray): null {
    checkRank(this.name, this.rank, sample, array);
    const { data } = array;
    forEachElement(array.shape, data.length, (flat, index) => {
      const at = index.length ? `${index.join(',')},` : '';
      this.push(`${sample},${at}${csvNumber(data[flat])}\r\n`);
    });
    return null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.flush();
    } catch (error) {
      this.file.abort();
      throw error;
    }
    this.file.close();
  }

  abort(): void {
    this.closed = true;
    this.file.abort();
  }

  private push(line: string): void {
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= FLUSH_CHARS) this.flush();
  }

  private flush(): void {
    this.file.write(Buffer.from(this.pending.join(''), 'utf8'));
    this.pending = [];
    this.pendingChars = 0;
  }
}
