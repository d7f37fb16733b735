/**
 * RFC 4180 CSV (quoted fields, doubled quotes, newlines inside quotes, CRLF or LF), enough for a
 * hand-written `questions.csv`, and the same rules with a tab as the separator for the TSV files
 * pandas writes (VLMEvalKit: `pd.read_csv(f, sep='\t')`). Each record carries the line it starts on,
 * for skipped-item reports.
 */

export interface CsvRecord {
  readonly line: number;
  readonly fields: string[];
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** Throws a plain Error for an unterminated quote (it would swallow the rest of the file). */
export function parseCsv(text: string, delimiter: ',' | '\t' = ','): CsvRecord[] {
  const separator = delimiter.charCodeAt(0);
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let quoteLine = 0;
  const endRecord = () => {
    fields.push(field);
    // A blank line is no record (a trailing newline, or spacing between rows).
    if (fields.length > 1 || fields[0] !== '') records.push({ line: start, fields });
    fields = [];
    field = '';
  };
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (quoted) {
      if (c === QUOTE && text.charCodeAt(i + 1) === QUOTE) {
        field += '"';
        i += 2;
      } else if (c === QUOTE) {
        quoted = false;
        i++;
      } else {
        // Copy the run up to the next quote in one slice (fields may be megabytes of base64).
        let end = text.indexOf('"', i);
        if (end === -1) end = text.length;
        const run = text.slice(i, end);
        for (let k = run.indexOf('\n'); k !== -1; k = run.indexOf('\n', k + 1)) line++;
        field += run;
        i = end;
      }
    } else if (c === QUOTE && field === '') {
      quoted = true;
      quoteLine = line;
      i++;
    } else if (c === separator) {
      fields.push(field);
      field = '';
      i++;
    } else if (c === LF || c === CR) {
      i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      endRecord();
      start = ++line;
    } else {
      let end = i + 1;
      while (end < text.length) {
        const d = text.charCodeAt(end);
        if (d === separator || d === LF || d === CR || d === QUOTE) break;
        end++;
      }
      field += text.slice(i, end);
      i = end;
    }
  }
  if (quoted) throw new Error(`quoted field opened on line ${quoteLine} never closes`);
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}
