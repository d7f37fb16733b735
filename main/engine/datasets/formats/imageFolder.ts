/**
 * A folder of images for attention-only analyses: questions from `questions.csv` (columns `image`,
 * `question`, optional `answers` separated by `|`, optional `id`), or one `question` option asked of
 * every image directly in the folder. Rows without answers get metric `none`.
 */
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';

import { quoted, shownPath } from '../../../../native-models/files/messageText.ts';
import { FusionError } from '../../../common/errors.ts';
import { invalidRecordReason, readCsvRecords, takeHeader } from '../csvFile.ts';
import type { DatasetFormat, DatasetSource, FormatOutput } from '../format.ts';
import { newSink } from '../format.ts';

const CSV = 'questions.csv';
/**
 * Names of what main/engine/image decodes (the content is still sniffed when the image is checked);
 * other image types are listed as skipped, not silently ignored.
 */
const DECODED = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.webp', '.gif', '.tif', '.tiff', '.avif']);
const OTHER_IMAGES = new Set(['.heic', '.heif', '.jxl', '.jp2', '.qoi', '.psd']);

const extension = (name: string) => extname(name).toLowerCase();
const isImage = (name: string) => DECODED.has(extension(name)) || OTHER_IMAGES.has(extension(name));
const unsupported = (name: string) =>
  `unsupported image type ${quoted(extension(name))} (PNG, JPEG, BMP, WebP, GIF, TIFF and AVIF are decoded)`;

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

async function readCsv(source: DatasetSource, file: string): Promise<FormatOutput> {
  const rows = await readCsvRecords(file);
  const first = takeHeader(file, rows);
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
  for (const record of rows) {
    const { line, fields, invalid } = record;
    const where = { file, line };
    if (invalid !== undefined) {
      sink.skip(where, invalidRecordReason({ ...record, invalid }));
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
