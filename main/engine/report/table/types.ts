/** Tables of results (baseline vs refined, per benchmark): the same columns and rows go to SVG and CSV. */
import { FusionError } from '../../../common/errors.ts';

export interface TableColumn {
  label: string;
  /** Default: right for columns whose cells are all numbers, else left. */
  align?: 'left' | 'center' | 'right';
  /** Fraction digits for numbers in the SVG (CSV keeps full precision). Default 2; integers as is. */
  digits?: number;
  /** Bold the best number of the column in the SVG. */
  best?: 'max' | 'min';
}

export type TableCell = string | number | null;

export interface TableInput {
  columns: readonly (string | TableColumn)[];
  rows: readonly (readonly TableCell[])[];
  title?: string;
  /** Lines under the table (what n, the interval and p are; methods that could not run, and why). */
  notes?: readonly string[];
}

export function normaliseColumns(columns: readonly (string | TableColumn)[]): TableColumn[] {
  if (!Array.isArray(columns) || columns.length === 0) {
    throw new FusionError('BAD_ARGUMENT', 'a table needs at least one column');
  }
  return columns.map((c, i) => {
    const column = typeof c === 'string' ? { label: c } : c;
    if (typeof column?.label !== 'string') {
      throw new FusionError('BAD_ARGUMENT', `columns[${i}] needs a label`);
    }
    if (
      column.digits !== undefined &&
      !(Number.isInteger(column.digits) && column.digits >= 0 && column.digits <= 12)
    ) {
      throw new FusionError('BAD_ARGUMENT', `columns[${i}].digits must be an integer 0..12`);
    }
    return column;
  });
}

export function checkRows(rows: readonly (readonly TableCell[])[], width: number): void {
  if (!Array.isArray(rows)) throw new FusionError('BAD_ARGUMENT', 'table rows must be an array');
  rows.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== width) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `row ${r} has ${Array.isArray(row) ? row.length : 'no'} cells, expected ${width}`,
      );
    }
    row.forEach((cell, c) => {
      if (cell !== null && typeof cell !== 'string' && typeof cell !== 'number') {
        throw new FusionError('BAD_ARGUMENT', `cell [${r}][${c}] must be a string, number or null`);
      }
    });
  });
}
