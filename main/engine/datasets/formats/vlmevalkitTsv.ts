/**
 * VLMEvalKit's TSV benchmarks (MMBench, CCBench, SEEDBench, AI2D, ScienceQA... as `MMBench_DEV_EN.tsv`):
 * one row per question with columns `index`, `question`, optional `hint`, options `A`, `B`, ...,
 * `answer` (a letter; absent in test splits), `category`, `l2-category`, and the image as base64 in
 * `image` (a short value is another row's `index`, whose image it shares) or a path in `image_path`.
 * Read as VLMEvalKit reads them (`ImageBaseDataset.prepare_tsv`, `ImageMCQDataset.build_prompt`):
 * - cells pandas reads as missing (empty, `nan`, `None`, `N/A`, ...) are missing, options included;
 * - the question asked is VLMEvalKit's default prompt (hint, question, options, instruction);
 * - circular evaluation applies to files whose name says MMBench, CCBench, MMCR or circular (its
 *   rule): rows sharing `g_index` (else `index % 1e6`) are one question's rotations; a file without
 *   rotated rows is rotated here as `vlmutil circular` would. Items carry `circular` slots, and
 *   `circularAccuracy` (experiments/metrics) scores a question right only if every rotation is.
 * Embedded images are written once to the image cache (embeddedImages.ts) and checked like files.
 */
import { quoted, shownPath } from '../../../../native-models/files/messageText.ts';
import { FusionError } from '../../../common/errors.ts';
import { type CheckedRecord, invalidRecordReason, readCsvRecords, takeHeader } from '../csvFile.ts';
import { decodeBase64, EmbeddedImages } from '../embeddedImages.ts';
import { type DatasetFormat, type DatasetSource, matchFileName, newSink, pickFile, stem } from '../format.ts';
import {
  isOptionColumn,
  optionLabels,
  rotations,
  vlmevalkitPrompt,
  whyNotRotated,
} from '../multipleChoice.ts';
import { ImageLocator } from '../paths.ts';
import { ItemSink, type Draft, type Where } from '../sink.ts';
import type { Choice } from '../types.ts';

const FILE = /\.tsv$/i;
/** VLMEvalKit: `listinstr(['mmbench', 'ccbench', 'circular', 'mmcr'], dataset.lower())`. */
const CIRCULAR_NAME = /mmbench|ccbench|circular|mmcr/i;
/** VLMEvalKit's rotation offset: rotated copies have index + k·1e6 and g_index = index % 1e6. */
const OFFSET = 1_000_000;
/** pandas `read_csv`'s default missing-value strings. */
const PANDAS_NA = new Set([
  '',
  '#N/A',
  '#N/A N/A',
  '#NA',
  '-1.#IND',
  '-1.#QNAN',
  '-NaN',
  '-nan',
  '1.#IND',
  '1.#QNAN',
  '<NA>',
  'N/A',
  'NA',
  'NULL',
  'NaN',
  'None',
  'n/a',
  'nan',
  'null',
]);
/** VLMEvalKit: an `image` value of at most 64 characters is another row's index. */
const REFERENCE_LENGTH = 64;

/** A row's cells by column name (option columns keep their capital letter, others are lower-cased). */
type Row = { readonly where: Where; readonly cell: (name: string) => string | null };

interface Question {
  readonly where: Where;
  readonly index: string;
  readonly question: string;
  readonly hint: string | null;
  readonly choices: Choice[];
  readonly answer: string | null;
  readonly image: string | null;
  readonly imagePath: string | null;
  /** VLMEvalKit's `g_index` column: the question a rotated row belongs to. */
  readonly gIndex: string | null;
  readonly family: string;
  readonly subtype: string | null;
  readonly meta: Record<string, unknown>;
}

function headerOf(file: string, first: CheckedRecord | undefined): string[] {
  const header = (first?.fields ?? []).map((h) =>
    isOptionColumn(h.trim()) ? h.trim() : h.trim().toLowerCase(),
  );
  const missing = ['index', 'question'].filter((name) => !header.includes(name));
  if (!header.includes('image') && !header.includes('image_path')) missing.push('image');
  if (missing.length > 0) {
    throw new FusionError(
      'BAD_DATASET',
      `${shownPath(file)}:${first?.line ?? 1}: no ${missing.map((m) => `"${m}"`).join(', ')} column; a VLMEvalKit TSV has index, question, and image (base64) or image_path`,
    );
  }
  return header;
}

function questionOf(row: Row, optionColumns: readonly string[]): Question | string {
  const index = row.cell('index');
  if (index === null) return 'no "index"';
  const question = row.cell('question');
  if (question === null) return 'no "question"';
  const choices = optionColumns.flatMap((label) => {
    const text = row.cell(label);
    return text === null ? [] : [{ label, text }];
  });
  const category = row.cell('category');
  const l2 = row.cell('l2-category');
  return {
    where: { ...row.where, id: index },
    index,
    question,
    hint: row.cell('hint'),
    choices,
    answer: row.cell('answer'),
    image: row.cell('image'),
    imagePath: row.cell('image_path'),
    gIndex: row.cell('g_index'),
    family: category ?? 'all',
    subtype: l2,
    meta: Object.fromEntries(
      Object.entries({
        index,
        question,
        hint: row.cell('hint'),
        category,
        l2Category: l2,
        split: row.cell('split'),
        source: row.cell('source'),
      }).filter(([, v]) => v !== null),
    ),
  };
}

/** The base64 text of a row's image, following a reference to another row (as VLMEvalKit does). */
function imageText(q: Question, byIndex: ReadonlyMap<string, Question>): string | { reason: string } {
  const value = q.image ?? '';
  if (value.startsWith('[')) {
    return { reason: 'several images in one row (a list); FusionScope asks about one image per question' };
  }
  if (value.length > REFERENCE_LENGTH) return value;
  const target = byIndex.get(value);
  if (target === undefined)
    return { reason: `"image" refers to index ${quoted(value)}, which is not in the file` };
  if ((target.image ?? '').length <= REFERENCE_LENGTH) {
    return { reason: `"image" refers to index ${quoted(value)}, which holds no image of its own` };
  }
  return target.image!;
}

/**
 * Each question with its circular slot: as the file groups them, or rotated here when the file is
 * circular by name but has no rotated rows.
 */
function expand(
  questions: readonly Question[],
  circular: boolean,
): { q: Question; slot?: Draft['circular'] }[] {
  if (!circular) return questions.map((q) => ({ q }));
  const numeric = questions.every((q) => /^\d+$/.test(q.index));
  if (!numeric) return questions.map((q) => ({ q }));
  const groupOf = (q: Question) => String(q.gIndex !== null ? Number(q.gIndex) : Number(q.index) % OFFSET);
  const groups = new Map<string, Question[]>();
  for (const q of questions) groups.set(groupOf(q), [...(groups.get(groupOf(q)) ?? []), q]);
  const rotated = [...groups.values()].some((g) => g.length > 1);
  const out: { q: Question; slot?: Draft['circular'] }[] = [];
  for (const [group, members] of groups) {
    if (rotated) {
      const ordered = [...members].sort((a, b) => Number(a.index) - Number(b.index));
      ordered.forEach((q, rotation) => out.push({ q, slot: { group, rotation, rotations: ordered.length } }));
      continue;
    }
    // `vlmutil circular`: k rotated copies, index + i·OFFSET (OFFSET grown past the largest index).
    const q = members[0];
    const why = q.answer === null ? 'no answer' : whyNotRotated(q.choices, q.answer);
    if (why !== null) {
      out.push({
        q: { ...q, meta: { ...q.meta, notRotated: why } },
        slot: { group, rotation: 0, rotations: 1 },
      });
      continue;
    }
    let offset = OFFSET;
    const largest = Math.max(...questions.map((x) => Number(x.index)));
    while (largest >= offset) offset *= 10;
    rotations(q.choices, q.answer!).forEach((r, i) => {
      const index = String(Number(q.index) + i * offset);
      out.push({
        q: { ...q, index, where: { ...q.where, id: index }, choices: r.choices, answer: r.answer },
        slot: { group, rotation: i, rotations: q.choices.length },
      });
    });
  }
  return out;
}

async function read(source: DatasetSource) {
  const file = pickFile(source, FILE, 'TSV file');
  const records = await readCsvRecords(file, '\t');
  const header = headerOf(file, takeHeader(file, records));
  const optionColumns = optionLabels(26).filter((label) => header.includes(label));
  const embedded = header.includes('image');
  const cache = new EmbeddedImages(source.options.imageCache);
  const sink = embedded
    ? new ItemSink(new ImageLocator(cache.dir, ['.'], source.options.checkImages))
    : newSink(source, ['.', 'images']);
  const questions: Question[] = [];
  for (const record of records) {
    const where = { file, line: record.line };
    if (record.invalid !== undefined) {
      sink.skip(where, invalidRecordReason({ ...record, invalid: record.invalid }));
      continue;
    }
    if (record.fields.length > header.length) {
      sink.skip(where, `${record.fields.length} fields, the header has ${header.length}`);
      continue;
    }
    const cell = (name: string) => {
      const value = record.fields[header.indexOf(name)];
      return value === undefined || PANDAS_NA.has(value) ? null : value;
    };
    const q = questionOf({ where, cell }, optionColumns);
    if (typeof q === 'string') sink.skip(where, q);
    else questions.push(q);
  }
  const byIndex = new Map(questions.map((q) => [q.index, q]));
  const circular = CIRCULAR_NAME.test(stem(file));
  const stored = new Map<string, Awaited<ReturnType<EmbeddedImages['store']>>>();
  for (const { q, slot } of expand(questions, circular)) {
    let image: string;
    if (embedded) {
      const text = imageText(q, byIndex);
      if (typeof text !== 'string') {
        sink.skip(q.where, text.reason);
        continue;
      }
      // Rotations share their image: decode and hash it once.
      let result = stored.get(text);
      if (result === undefined) {
        const bytes = decodeBase64(text);
        result =
          typeof bytes === 'string'
            ? { reason: `column "image": ${bytes}` }
            : await cache.store(bytes, 'column "image"');
        stored.set(text, result);
      }
      if ('reason' in result) {
        sink.skip(q.where, result.reason);
        continue;
      }
      image = result.name;
    } else {
      image = q.imagePath ?? '';
    }
    sink.add(q.where, {
      id: q.index,
      image,
      question: vlmevalkitPrompt(q.question, q.hint, q.choices),
      answers: q.answer === null ? [] : [q.answer],
      metric: q.answer === null ? 'none' : 'choice',
      family: q.family,
      subtype: q.subtype,
      choices: q.choices,
      ...(slot ? { circular: slot } : {}),
      meta: embedded ? q.meta : { ...q.meta, imagePath: q.imagePath },
    });
  }
  const { items, skipped } = await sink.finish();
  // Rows refused while reading and while storing images, back in file order.
  skipped.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { name: stem(file), items, skipped };
}

export const vlmevalkitTsv: DatasetFormat = {
  name: 'vlmevalkit-tsv',
  summary: 'VLMEvalKit TSV (MMBench and kin): index, question, hint, A/B/C/D, answer, image (base64)',
  matchName(source) {
    if (source.isDirectory) {
      const found = source.entries.filter((n) => FILE.test(n));
      return found.length > 0 ? `TSV files (${found.map((n) => quoted(n)).join(', ')})` : null;
    }
    return matchFileName(FILE)(source);
  },
  read,
};
