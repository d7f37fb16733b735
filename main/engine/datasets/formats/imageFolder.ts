/**
 * A folder of images for attention-only analyses: questions from `questions.csv` (columns `image`,
 * `question`, optional `answers` separated by `|`, optional `id`), or one `question` option asked of
 * every PNG/JPEG directly in the folder. Rows without answers get metric `none`.
 */
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';

import { quoted, shownPath } from '../../../../native-models/files/messageText.ts';
import { FusionError } from '../../../common/errors.ts';
import { type CsvRecord, parseCsv } from '../csv.ts';
import type { DatasetFormat, DatasetSource, FormatOutput } from '../format.ts';
import { newSink } from '../format.ts';
import { readDatasetBytes } from '../datasetFile.ts';
import {
  decodeUtf8,
  decodeUtf8Lenient,
  describeInvalidUtf8,
  invalidUtf8Lines,
  type Utf8Position,
} from '../utf8.ts';

const CSV = 'questions.csv';
/** What main/engine/image decodes; other image types are listed as skipped, not silently ignored. */
const DECODED = new Set(['.png', '.jpg', '.jpeg']);
const OTHER_IMAGES = new Set(['.gif', '.bmp', '.webp', '.tif', '.tiff', '.heic', '.heif', '.avif', '.jxl']);

const extension = (name: string) => extname(name).toLowerCase();
const isImage = (name: string) => DECODED.has(extension(name)) || OTHER_IMAGES.has(extension(name));
const unsupported = (name: string) =>
  `unsupported image type ${quoted(extension(name))} (PNG and JPEG are decoded)`;

/** Every image directly in the folder, asked `question`. */
async function readAll(source: DatasetSource, question: string): Promise<FormatOutput> {
  const folder = source.options.images ?? source.dir;
  const names = source.options.images === undefined ? source.entries : (await readdir(folder)).sort();
  const sink = newSink(source, ['.']);
  for (const name of names.filter(isImage)) {
    const where = { file: join(folder, name), id: name };
    if (!DECODED.has(extension(name))) sink.skip(where, unsupported(name));
    else sink.add(where, { id: name, image: name, question, answers: [], metric: 'none', family: 'image' });
  }
  return { name: basename(source.dir), ...(await sink.finish()) };
}

/**
 * The CSV's records, each with the first line in it holding invalid UTF-8 (such a record is skipped:
 * its text would be guessed at), or a BAD_DATASET error for a file whose structure cannot be read.
 */
async function readCsvRecords(file: string): Promise<(CsvRecord & { invalid?: Utf8Position })[]> {
  const bytes = await readDatasetBytes(file);
  const decoded = decodeUtf8(bytes);
  const invalid = 'text' in decoded ? new Map<number, number>() : invalidUtf8Lines(bytes);
  let records: CsvRecord[];
  try {
    records = parseCsv('text' in decoded ? decoded.text : decodeUtf8Lenient(bytes));
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

async function readCsv(source: DatasetSource, file: string): Promise<FormatOutput> {
  const rows = await readCsvRecords(file);
  const first = rows.shift();
  if (first?.invalid !== undefined) {
    const { line, column } = first.invalid;
    throw new FusionError('BAD_DATASET', `${shownPath(file)}:${line}: ${describeInvalidUtf8(column)}`);
  }
  const header = (first?.fields ?? []).map((h) => h.trim().toLowerCase());
  const column = (name: string) => header.indexOf(name);
  const [image, question, answers, id] = ['image', 'question', 'answers', 'id'].map(column);
  if (image < 0 || question < 0) {
    // The header is not quoted: a file without these columns may not be a questions CSV at all.
    const missing = ['image', 'question'].filter((name) => column(name) < 0).map((name) => `"${name}"`);
    throw new FusionError(
      'BAD_DATASET',
      `${shownPath(file)}:${first?.line ?? 1}: the header must name the "image" and "question" columns; no ${missing.join(' or ')} among its ${header.length}`,
    );
  }
  const sink = newSink(source, ['.']);
  const seen = new Map<string, number>();
  for (const { line, fields, invalid } of rows) {
    const where = { file, line };
    if (invalid !== undefined) {
      sink.skip(
        where,
        invalid.line === line
          ? describeInvalidUtf8(invalid.column)
          : `line ${invalid.line}: ${describeInvalidUtf8(invalid.column)}`,
      );
      continue;
    }
    if (fields.length > header.length) {
      sink.skip(where, `${fields.length} fields, the header has ${header.length}`);
      continue;
    }
    const name = (fields[image] ?? '').trim();
    if (name !== '' && !DECODED.has(extension(name))) {
      sink.skip(where, unsupported(name));
      continue;
    }
    const gold = (fields[answers] ?? '')
      .split('|')
      .map((a) => a.trim())
      .filter((a) => a !== '');
    // Without an id column, the n-th question about an image is "{image}#n": stable across re-reads.
    const occurrence = (seen.get(name) ?? 0) + 1;
    seen.set(name, occurrence);
    sink.add(where, {
      id: id >= 0 ? (fields[id] ?? '').trim() : `${name}#${occurrence}`,
      image: name,
      question: fields[question] ?? '',
      answers: gold,
      metric: gold.length > 0 ? 'exact' : 'none',
      family: 'image',
    });
  }
  return { name: basename(source.dir), ...(await sink.finish()) };
}

export const imageFolder: DatasetFormat = {
  name: 'image-folder',
  summary: `a folder of PNG/JPEG images with ${CSV} or one question for all`,
  fallback: true,
  matchName(source) {
    if (!source.isDirectory) return basename(source.path) === CSV ? `file name "${CSV}"` : null;
    if (source.entries.includes(CSV)) return CSV;
    const images = source.entries.filter(isImage).length;
    return images > 0 ? `${images} image file(s)` : null;
  },
  async read(source) {
    const csv = source.isDirectory
      ? source.entries.includes(CSV)
        ? join(source.dir, CSV)
        : undefined
      : source.path;
    const { question } = source.options;
    if (question !== undefined && csv !== undefined) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `${shownPath(csv)} exists and a question was given: use one or the other`,
      );
    }
    if (question !== undefined) {
      if (question.trim() === '')
        throw new FusionError('BAD_ARGUMENT', 'the question for every image is empty');
      return readAll(source, question);
    }
    if (csv !== undefined) return readCsv(source, csv);
    throw new FusionError(
      'MISSING_FILE',
      `${shownPath(source.dir)}: an image folder needs ${CSV} (image,question[,answers][,id]) or a question for every image`,
    );
  },
};
