/**
 * A CSV or TSV dataset file read as records, each knowing whether a line of it held invalid UTF-8
 * (such a record is skipped: its text would be guessed at), and its header row checked.
 */
import { shownPath } from '../../../native-models/files/messageText.ts';
import { FusionError } from '../../common/errors.ts';
import { type CsvRecord, parseCsv } from './csv.ts';
import { readDatasetBytes } from './datasetFile.ts';
import {
  decodeUtf8,
  decodeUtf8Lenient,
  describeInvalidUtf8,
  invalidUtf8Lines,
  type Utf8Position,
} from './utf8.ts';

export type CheckedRecord = CsvRecord & { readonly invalid?: Utf8Position };

/**
 * The file's records, each with the first line in it holding invalid UTF-8, or a BAD_DATASET error for
 * a file whose structure cannot be read.
 */
export async function readCsvRecords(file: string, delimiter: ',' | '\t' = ','): Promise<CheckedRecord[]> {
  const bytes = await readDatasetBytes(file);
  const decoded = decodeUtf8(bytes);
  const invalid = 'text' in decoded ? new Map<number, number>() : invalidUtf8Lines(bytes);
  let records: CsvRecord[];
  try {
    records = parseCsv('text' in decoded ? decoded.text : decodeUtf8Lenient(bytes), delimiter);
  } catch (error) {
    throw new FusionError('BAD_DATASET', `${shownPath(file)}: ${(error as Error).message}`);
  }
  const bad = [...invalid.keys()];
  let next = 0;
  return records.map((record, i) => {
    const end = records[i + 1]?.line ?? Infinity;
    while (next < bad.length && bad[next] < record.line) next++;
    const line = bad[next];
    return line !== undefined && line < end
      ? { ...record, invalid: { line, column: invalid.get(line)! } }
      : record;
  });
}

/** The header row (removed from `rows`), refused when it holds invalid UTF-8. */
export function takeHeader(file: string, rows: CheckedRecord[]): CheckedRecord | undefined {
  const first = rows.shift();
  if (first?.invalid !== undefined) {
    const { line, column } = first.invalid;
    throw new FusionError('BAD_DATASET', `${shownPath(file)}:${line}: ${describeInvalidUtf8(column)}`);
  }
  return first;
}

/** The reason a record with invalid UTF-8 is skipped, naming the line when it is not the first. */
export function invalidRecordReason(record: CheckedRecord & { readonly invalid: Utf8Position }): string {
  const { invalid, line } = record;
  return invalid.line === line
    ? describeInvalidUtf8(invalid.column)
    : `line ${invalid.line}: ${describeInvalidUtf8(invalid.column)}`;
}
