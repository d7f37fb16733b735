/**
 * Parquet exports of Hugging Face datasets, as lmms-eval loads them (lmms-lab/MMBench, VQAv2, POPE,
 * TextVQA, DocVQA, ScienceQA, AI2D, ...): one row per question, the image a struct `{bytes, path}`
 * (the `datasets` Image feature) or raw binary, `question`, and the gold answer in whichever of the
 * usual columns the benchmark has:
 * - options `A`, `B`, ... columns (MMBench) or an `options` / `choices` list (ScienceQA, AI2D), the
 *   gold a label, an index or the option's text → metric `choice`, asked as LLaVA-1.5 asks;
 * - `answers` list of strings or `{answer}` structs (VQAv2, TextVQA, OK-VQA, VizWiz), the
 *   `multiple_choice_answer` first when there is one → `vqa` with two or more, else `exact`;
 * - `answer` string or list → `exact` (`pope` for a file named POPE, `anls` for DocVQA/InfoVQA).
 * Read with hyparquet row group by row group, in a watched worker (parquetReader.ts; snappy or
 * uncompressed, other codecs are named in the error). Opening one shard (`test-00000-of-00003.parquet`) opens its split's every shard; a folder
 * must hold one split. Images are written once to the image cache (embeddedImages.ts).
 */
import { basename, join } from 'node:path';

import type { SchemaTree } from 'hyparquet';

import { printable, quoted, shownPath } from '../../../../native-models/files/messageText.ts';
import { FusionError } from '../../../common/errors.ts';
import { readDatasetBytes } from '../datasetFile.ts';
import { EmbeddedImages } from '../embeddedImages.ts';
import { annotatorAnswers, describe, isObject, rankAnswers } from '../fields.ts';
import { type DatasetFormat, type DatasetSource, matching, stem } from '../format.ts';
import { llavaChoicePrompt, isOptionColumn, optionLabels } from '../multipleChoice.ts';
import { ParquetReader } from '../parquetReader.ts';
import { ImageLocator } from '../paths.ts';
import { ItemSink, type Draft, type Where } from '../sink.ts';
import type { Choice, Metric } from '../types.ts';

const FILE = /\.parquet$/i;
/** `{split}-{shard}-of-{count}.parquet`, the `datasets` library's shard names. */
const SHARD = /^(.*)-(\d{5})-of-(\d{5})\.parquet$/i;
const ID_COLUMNS = ['question_id', 'questionId', 'qid', 'id', 'index', 'idx'];
const IMAGE_COLUMNS = ['image', 'images', 'decoded_image'];
const FAMILY_COLUMNS = ['category', 'question_type', 'answer_type', 'type', 'subject'];
const TEXT = new TextDecoder('utf-8', { fatal: true });

type Row = Record<string, unknown>;

/** The files to read: the opened file and its split's other shards, or a folder's one split. */
function filesOf(source: DatasetSource): string[] {
  const splitOf = (name: string) => SHARD.exec(name)?.[1] ?? stem(name);
  if (!source.isDirectory) {
    const match = SHARD.exec(basename(source.path));
    if (match === null) return [source.path];
    const [, split, , count] = match;
    const siblings = matching(source, FILE).filter(
      (n) => SHARD.exec(n)?.[1] === split && SHARD.exec(n)?.[3] === count,
    );
    return siblings.map((n) => join(source.dir, n));
  }
  const names = matching(source, FILE);
  if (names.length === 0) throw new FusionError('MISSING_FILE', `${shownPath(source.dir)}: no .parquet file`);
  const splits = [...new Set(names.map(splitOf))];
  if (splits.length > 1) {
    throw new FusionError(
      'BAD_DATASET',
      `${shownPath(source.dir)}: Parquet files of several splits (${splits.map((s) => quoted(s)).join(', ')}); open one split's file`,
    );
  }
  return names.map((n) => join(source.dir, n));
}

/** A string cell (binary cells read as strict UTF-8), null when missing, or why it is neither. */
function textOf(value: unknown, column: string): string | null | { reason: string } {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    try {
      return TEXT.decode(value);
    } catch {
      return { reason: `column ${quoted(column)} is not UTF-8 text` };
    }
  }
  return { reason: `column ${quoted(column)} is ${describe(value)}, not text` };
}

function idOfCell(value: unknown): string | null {
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && value.trim() !== '') return value;
  return null;
}

/** The image bytes of a cell: `{bytes, path}`, raw binary, or a one-image list; else why not. */
function imageBytes(value: unknown, column: string): Uint8Array | { reason: string } {
  if (Array.isArray(value)) {
    if (value.length !== 1) {
      return { reason: `column ${quoted(column)} holds ${value.length} images; FusionScope asks about one` };
    }
    return imageBytes(value[0], column);
  }
  if (value instanceof Uint8Array) return value;
  if (isObject(value)) {
    if (value.bytes instanceof Uint8Array) return value.bytes;
    const path = typeof value.path === 'string' ? ` (only a path, ${quoted(value.path)})` : '';
    return { reason: `column ${quoted(column)} has no image bytes${path}` };
  }
  return { reason: `column ${quoted(column)} is ${describe(value)}, not an image` };
}

/** The options of a row: `A`, `B`, ... columns, or an `options` / `choices` list of strings. */
function choicesOf(row: Row, columns: readonly string[]): Choice[] | { reason: string } | null {
  const letters = columns.filter(isOptionColumn).sort();
  if (letters.length > 0) {
    const choices: Choice[] = [];
    for (const label of letters) {
      const text = textOf(row[label], label);
      if (text !== null && typeof text !== 'string') return text;
      if (text !== null && text !== 'nan' && text.trim() !== '') choices.push({ label, text });
    }
    return choices;
  }
  for (const column of ['options', 'choices']) {
    const list = row[column];
    if (list === undefined) continue;
    if (!Array.isArray(list) || !list.every((t) => typeof t === 'string')) {
      return { reason: `column ${quoted(column)} is ${describe(list)}, not a list of strings` };
    }
    const labels = optionLabels(list.length);
    return (list as string[]).map((text, i) => ({ label: labels[i], text }));
  }
  return null;
}

/** The gold label of a multiple-choice row: a label, an index (number or digits), or an option's text. */
function goldLabel(value: unknown, choices: readonly Choice[]): string | { reason: string } {
  const labels = choices.map((c) => c.label);
  const raw = typeof value === 'bigint' ? Number(value) : value;
  if (typeof raw === 'string' && labels.includes(raw.trim())) return raw.trim();
  const index =
    typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (Number.isInteger(index) && index >= 0 && index < choices.length) return labels[index];
  const byText = typeof raw === 'string' ? choices.find((c) => c.text === raw) : undefined;
  if (byText) return byText.label;
  const shown = typeof raw === 'string' ? quoted(raw) : describe(raw);
  return { reason: `column "answer" ${shown} is none of the options (${labels.join(', ')})` };
}

/** Gold answers of a free-answer row, and the metric they call for. */
function freeAnswers(
  row: Row,
  file: string,
): Pick<Draft, 'answers' | 'annotatorAnswers' | 'metric'> | { reason: string } {
  const name = basename(file).toLowerCase();
  const preferred = typeof row.multiple_choice_answer === 'string' ? row.multiple_choice_answer : undefined;
  if (Array.isArray(row.answers)) {
    const raw = annotatorAnswers(row.answers) ?? [];
    const answers = rankAnswers(raw, preferred);
    if (raw.length >= 2 && !/docvqa|infovqa|infographic/.test(name))
      return { answers, annotatorAnswers: raw, metric: 'vqa' };
    return { answers, metric: /docvqa|infovqa|infographic/.test(name) ? 'anls' : 'exact' };
  }
  const answer = row.answer ?? row.answers;
  if (answer === undefined || answer === null) return { answers: [], metric: 'none' };
  const list = Array.isArray(answer) ? answer : [answer];
  if (!list.every((a) => typeof a === 'string')) {
    return { reason: `column "answer" is ${describe(answer)}, not text` };
  }
  const metric: Metric = /pope/.test(name)
    ? 'pope'
    : /docvqa|infovqa|infographic/.test(name)
      ? 'anls'
      : 'exact';
  return { answers: rankAnswers(list as string[], preferred), metric };
}

/** Schema checks that refuse the whole file: the question and image columns must be there and typed. */
function checkSchema(file: string, schema: SchemaTree): { columns: string[]; image: string } {
  const columns = schema.children.map((c) => c.element.name);
  const image = IMAGE_COLUMNS.find((c) => columns.includes(c));
  const missing = [...(columns.includes('question') ? [] : ['"question"']), ...(image ? [] : ['"image"'])];
  if (missing.length > 0) {
    throw new FusionError(
      'BAD_DATASET',
      `${shownPath(file)}: no ${missing.join(' or ')} column (it has ${columns.length}: ${columns
        .slice(0, 12)
        .map((c) => quoted(c))
        .join(', ')}${columns.length > 12 ? ', …' : ''})`,
    );
  }
  const question = schema.children.find((c) => c.element.name === 'question')!;
  if (question.element.type !== undefined && question.element.type !== 'BYTE_ARRAY') {
    throw new FusionError(
      'BAD_DATASET',
      `${shownPath(file)}: column "question" is ${question.element.type}, not text`,
    );
  }
  const imageNode = schema.children.find((c) => c.element.name === image)!;
  const leaf = (node: SchemaTree): SchemaTree => (node.children.length === 1 ? leaf(node.children[0]) : node);
  const imageLeaf = leaf(imageNode);
  const typed =
    imageLeaf.element.type === 'BYTE_ARRAY' || imageLeaf.children.some((c) => c.element.name === 'bytes');
  if (!typed) {
    throw new FusionError(
      'BAD_DATASET',
      `${shownPath(file)}: column ${quoted(image!)} is ${imageLeaf.element.type ?? 'a group'}, not an image (binary or a struct {bytes, path})`,
    );
  }
  return { columns, image: image! };
}

async function readFile(
  file: string,
  sink: ItemSink,
  cache: EmbeddedImages,
  ids: { next: number },
): Promise<void> {
  const { parquetSchema } = await import('hyparquet');
  const reader = await ParquetReader.open(file, await readDatasetBytes(file));
  try {
    let schema: SchemaTree;
    try {
      schema = parquetSchema(reader.metadata);
    } catch (error) {
      const why = printable(error instanceof Error ? error.message : String(error), 200);
      throw new FusionError('BAD_DATASET', `${shownPath(file)}: its schema cannot be read (${why})`);
    }
    const { columns, image } = checkSchema(file, schema);
    const layout = {
      columns,
      image,
      idColumn: ID_COLUMNS.find((c) => columns.includes(c)),
      familyColumn: FAMILY_COLUMNS.find((c) => columns.includes(c)),
      subtypeColumn: ['l2-category', 'L2-category'].find((c) => columns.includes(c)),
    };
    // One row group at a time: a file's images are never all in memory at once.
    let rowStart = 0;
    for (const group of reader.metadata.row_groups) {
      const rowEnd = rowStart + Number(group.num_rows);
      const rows = await reader.rows(rowStart, rowEnd);
      for (const [offset, row] of rows.entries()) {
        await addRow(row, { file, index: rowStart + offset }, layout, sink, cache, ids);
      }
      rowStart = rowEnd;
    }
  } finally {
    await reader.close();
  }
}

async function addRow(
  row: Row,
  where: Where & { readonly index: number },
  layout: {
    columns: string[];
    image: string;
    idColumn?: string;
    familyColumn?: string;
    subtypeColumn?: string;
  },
  sink: ItemSink,
  cache: EmbeddedImages,
  ids: { next: number },
): Promise<void> {
  const id = layout.idColumn ? idOfCell(row[layout.idColumn]) : `${stem(where.file)}#${ids.next++}`;
  if (id === null)
    return sink.skip(
      where,
      `column ${quoted(layout.idColumn!)} is ${describe(row[layout.idColumn!])}, not an id`,
    );
  const at = { ...where, id };
  const question = textOf(row.question, 'question');
  if (question === null) return sink.skip(at, 'column "question" is empty');
  if (typeof question !== 'string') return sink.skip(at, question.reason);
  const hint = textOf(row.hint, 'hint');
  if (hint !== null && typeof hint !== 'string') return sink.skip(at, hint.reason);
  const family = layout.familyColumn ? textOf(row[layout.familyColumn], layout.familyColumn) : null;
  const subtype = layout.subtypeColumn ? textOf(row[layout.subtypeColumn], layout.subtypeColumn) : null;
  const choices = choicesOf(row, layout.columns);
  if (choices !== null && !Array.isArray(choices)) return sink.skip(at, choices.reason);
  let gold: Pick<Draft, 'answers' | 'annotatorAnswers' | 'metric'>;
  if (choices !== null && choices.length > 0) {
    const answer = row.answer;
    if (answer === null || answer === undefined) gold = { answers: [], metric: 'none' };
    else {
      const label = goldLabel(answer, choices);
      if (typeof label !== 'string') return sink.skip(at, label.reason);
      gold = { answers: [label], metric: 'choice' };
    }
  } else {
    const free = freeAnswers(row, where.file);
    if ('reason' in free) return sink.skip(at, free.reason);
    gold = free;
  }
  const pixels = imageBytes(row[layout.image], layout.image);
  if ('reason' in pixels) return sink.skip(at, pixels.reason);
  const stored = await cache.store(pixels, `column ${quoted(layout.image)}`);
  if ('reason' in stored) return sink.skip(at, stored.reason);
  const shownHint = hint !== null && hint !== 'nan' && hint.trim() !== '' ? hint : null;
  const asked =
    choices !== null && choices.length > 0 ? llavaChoicePrompt(question, shownHint, choices) : question;
  sink.add(where, {
    id,
    image: stored.name,
    question: asked,
    ...gold,
    family: typeof family === 'string' && family !== '' ? family : 'all',
    subtype: typeof subtype === 'string' ? subtype : null,
    ...(choices !== null && choices.length > 0 ? { choices } : {}),
    meta: {
      row: where.index,
      ...(shownHint !== null ? { hint: shownHint } : {}),
      ...(asked !== question ? { question } : {}),
    },
  });
}

export const hfParquet: DatasetFormat = {
  name: 'hf-parquet',
  summary: 'Parquet (Hugging Face datasets / lmms-eval): question, image {bytes, path}, answer(s) or options',
  matchName(source) {
    if (!source.isDirectory)
      return FILE.test(source.path) ? `file name ${quoted(basename(source.path))}` : null;
    const found = matching(source, FILE);
    return found.length > 0
      ? `Parquet files (${found
          .slice(0, 3)
          .map((n) => quoted(n))
          .join(', ')})`
      : null;
  },
  async read(source) {
    const files = filesOf(source);
    const cache = new EmbeddedImages(source.options.imageCache);
    const sink = new ItemSink(new ImageLocator(cache.dir, ['.'], source.options.checkImages));
    const ids = { next: 0 };
    for (const file of files) await readFile(file, sink, cache, ids);
    const first = basename(files[0]);
    return { name: SHARD.exec(first)?.[1] ?? stem(first), ...(await sink.finish()) };
  },
};
