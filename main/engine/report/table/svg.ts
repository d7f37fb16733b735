/**
 * A results table as SVG in the booktabs style (rules above, below the header and at the end; no
 * vertical lines), numbers right-aligned at fixed digits, the best value of a column in bold.
 * Column widths are measured with the figure font.
 */
import { FONT_FAMILY, MUTED_TEXT_COLOR, TEXT_COLOR } from '../../../common/charts/theme.ts';
import { measureFigureText } from '../fonts.ts';
import { attrs, escapeXml, num, svgDocument } from '../svg.ts';
import { checkRows, normaliseColumns, type TableCell, type TableColumn, type TableInput } from './types.ts';

const FONT = 13;
const TITLE_FONT = 14;
const PAD_X = 10;
const ROW = 24;
const MARGIN = 12;
const NOTE_FONT = 11;
const NOTE_LINE = 16;

/** Fraction digits of a column: as given; else 0 when all its numbers are integers, else 2. */
function columnDigits(rows: readonly (readonly TableCell[])[], c: number, column: TableColumn): number {
  if (column.digits !== undefined) return column.digits;
  return rows.every((row) => typeof row[c] !== 'number' || Number.isInteger(row[c])) ? 0 : 2;
}

function formatCell(cell: TableCell, digits: number): string {
  if (cell === null) return '\u2013';
  if (typeof cell === 'string') return cell;
  if (!Number.isFinite(cell)) return '\u2013';
  return cell.toFixed(digits).replace(/^-/, '\u2212');
}

function bestRows(
  rows: readonly (readonly TableCell[])[],
  c: number,
  best: 'max' | 'min' | undefined,
): Set<number> {
  if (!best) return new Set();
  const values = rows
    .map((row) => row[c])
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (values.length === 0) return new Set();
  const target = best === 'max' ? Math.max(...values) : Math.min(...values);
  return new Set(rows.flatMap((row, r) => (row[c] === target ? [r] : [])));
}

export function tableSvg(input: TableInput): string {
  const columns = normaliseColumns(input?.columns);
  checkRows(input.rows, columns.length);
  const rows = input.rows;
  const digits = columns.map((column, c) => columnDigits(rows, c, column));
  const text = rows.map((row) => row.map((cell, c) => formatCell(cell, digits[c])));
  const bold = columns.map((column, c) => bestRows(rows, c, column.best));
  const align = columns.map(
    (column, c) =>
      column.align ??
      (rows.length > 0 && rows.every((row) => typeof row[c] === 'number' || row[c] === null)
        ? 'right'
        : 'left'),
  );
  const widths = columns.map((column, c) =>
    Math.ceil(
      Math.max(
        measureFigureText(column.label, FONT, true),
        ...text.map((row, r) => measureFigureText(row[c], FONT, bold[c].has(r))),
      ) +
        2 * PAD_X,
    ),
  );
  const tableWidth = widths.reduce((a, b) => a + b, 0);
  const titleWidth = input.title ? measureFigureText(input.title, TITLE_FONT, true) : 0;
  const notes = input.notes ?? [];
  const notesWidth = Math.max(0, ...notes.map((note) => measureFigureText(note, NOTE_FONT)));
  const width = Math.ceil(Math.max(tableWidth, titleWidth, notesWidth) + 2 * MARGIN);
  const top = MARGIN + (input.title ? TITLE_FONT + 12 : 0);
  const bottom = top + ROW * (rows.length + 1);
  const height = bottom + (notes.length ? 6 + NOTE_LINE * notes.length : 0) + MARGIN + 2;
  const left = (width - tableWidth) / 2;

  const cellText = (value: string, c: number, y: number, isBold: boolean) => {
    const x0 = left + widths.slice(0, c).reduce((a, b) => a + b, 0);
    const anchor = align[c] === 'right' ? 'end' : align[c] === 'center' ? 'middle' : 'start';
    const x =
      align[c] === 'right' ? x0 + widths[c] - PAD_X : align[c] === 'center' ? x0 + widths[c] / 2 : x0 + PAD_X;
    return `<text${attrs({ x, y, 'text-anchor': anchor, 'font-weight': isBold ? 'bold' : undefined })}>${escapeXml(value)}</text>`;
  };
  const rule = (y: number, w: number) =>
    `<path d="M${num(left)} ${num(y)}h${num(tableWidth)}" stroke="${TEXT_COLOR}" stroke-width="${w}"/>`;

  const body: string[] = ['<rect width="100%" height="100%" fill="#ffffff"/>'];
  if (input.title) {
    body.push(
      `<text${attrs({
        x: width / 2,
        y: MARGIN + TITLE_FONT / 2,
        'font-family': FONT_FAMILY,
        'font-size': TITLE_FONT,
        'font-weight': 'bold',
        'text-anchor': 'middle',
        'dominant-baseline': 'central',
        fill: TEXT_COLOR,
      })}>${escapeXml(input.title)}</text>`,
    );
  }
  body.push(rule(top, 1.5));
  body.push(
    `<g${attrs({ 'font-family': FONT_FAMILY, 'font-size': FONT, fill: TEXT_COLOR, 'dominant-baseline': 'central' })}>`,
  );
  columns.forEach((column, c) => body.push(cellText(column.label, c, top + ROW / 2, true)));
  text.forEach((row, r) =>
    row.forEach((value, c) => body.push(cellText(value, c, top + ROW * (r + 1.5), bold[c].has(r)))),
  );
  body.push('</g>');
  body.push(rule(top + ROW, 0.8));
  body.push(rule(bottom, 1.5));
  notes.forEach((note, i) =>
    body.push(
      `<text${attrs({
        x: Math.min(left, (width - notesWidth) / 2),
        y: bottom + 6 + NOTE_LINE * (i + 0.5),
        'font-family': FONT_FAMILY,
        'font-size': NOTE_FONT,
        'dominant-baseline': 'central',
        fill: MUTED_TEXT_COLOR,
      })}>${escapeXml(note)}</text>`,
    ),
  );
  return svgDocument(width, height, body.join('\n') + '\n');
}
