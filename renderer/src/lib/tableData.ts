/**
 * A chart's or panel's underlying numbers as a downloadable file, built in the renderer (no backend
 * round trip): CSV (RFC 4180 quoting) or JSON (an array of row objects keyed by column).
 */
import type { ExportedFile } from '../../../main/common/api/index.ts';

export type Cell = string | number | null;

export interface TableData {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
}

function csvCell(value: Cell): string {
  if (value === null || (typeof value === 'number' && !Number.isFinite(value))) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(data: TableData): string {
  const lines = [data.columns, ...data.rows].map((row) => row.map(csvCell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** Rows as objects; non-finite numbers become null (JSON has no NaN). */
export function toJsonRows(data: TableData): Record<string, Cell>[] {
  return data.rows.map((row) =>
    Object.fromEntries(
      data.columns.map((column, i) => {
        const value = row[i] ?? null;
        return [column, typeof value === 'number' && !Number.isFinite(value) ? null : value];
      }),
    ),
  );
}

/** UTF-8 text → base64, in chunks so large tables do not overflow the argument stack. */
export function textToBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function tableFile(data: TableData, name: string, format: 'csv' | 'json'): ExportedFile {
  const text = format === 'csv' ? toCsv(data) : `${JSON.stringify(toJsonRows(data), null, 2)}\n`;
  return {
    fileName: `${name}.${format}`,
    mime: format === 'csv' ? 'text/csv' : 'application/json',
    base64: textToBase64(text),
  };
}

/** A safe file base name (exportFigure accepts letters, digits, ".", "_" and "-"). */
export function fileBase(name: string): string {
  const cleaned = name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '');
  return (cleaned || 'figure').slice(0, 200);
}
