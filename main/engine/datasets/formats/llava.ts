/**
 * LLaVA evaluation question files (`llava_*.jsonl`, LLaVA-Bench's `questions.jsonl`): lines of
 * `{question_id, image, text, category?}`. `text` is the prompt exactly as LLaVA asks it (it may carry an
 * instruction such as "Answer the question using a single word or phrase."). Gold answers are paired by
 * `question_id` from the `answers` option, else from a sibling `{stem}_answers.jsonl` (or, beside
 * LLaVA-Bench's `questions.jsonl`, `answers_gpt4.jsonl`); without any, items have metric `none`
 * (attention-only analyses).
 */
import { basename, join } from 'node:path';

import { FusionError } from '../../../common/errors.ts';
import { quoted, shownPath } from '../../../../native-models/files/messageText.ts';
import { describe, idOf, isObject, nonEmptyString, optionalString, stringList } from '../fields.ts';
import { type DatasetFormat, type DatasetSource, newSink, pickFile, stem } from '../format.ts';
import { type JsonFiles, jsonLines } from '../jsonFiles.ts';
import type { Metric } from '../types.ts';
import { indexVqaAnnotations, type VqaGold } from '../vqaAnnotations.ts';

/** Question files; `{stem}_answers.jsonl` siblings are answers, not questions. */
const FILE = /^(llava_(?!.*_answers\.jsonl$).*|questions)\.jsonl$/;
const LLAVA = /^llava_(?!.*_answers\.jsonl$).*\.jsonl$/;
/** LLaVA-Bench-in-the-Wild's pairing. */
const BENCH = { questions: 'questions.jsonl', answers: 'answers_gpt4.jsonl' };

type Found = Partial<VqaGold> & { answers: string[]; metric: Metric };
/** Gold answers, or why a question id has none usable. */
type Gold = Found | string;
const UNANSWERED: Found = { answers: [], metric: 'none' };

/** One answers line: `{question_id, answers: [...]}`, `{..., label}`, `{..., answer}` or `{..., text}`. */
function lineGold(raw: Record<string, unknown>): Gold | null {
  const list = stringList(raw.answers);
  if (list !== null && list.length > 0) return { answers: list, metric: 'exact' };
  const label = optionalString(raw.label)?.trim().toLowerCase();
  if (label === 'yes' || label === 'no') return { answers: [label], metric: 'pope' };
  const single = nonEmptyString(raw.answer) ?? nonEmptyString(raw.text);
  return single === null ? null : { answers: [single], metric: 'exact' };
}

/** Gold answers by question id from an answers JSONL or a VQA annotation JSON. */
async function loadGold(file: string, files: JsonFiles): Promise<Map<string, Gold>> {
  const gold = new Map<string, Gold>();
  const sniffed = await files.sniff(file);
  if (sniffed.kind === 'document') {
    const doc = await files.document(file);
    if (!isObject(doc) || !Array.isArray(doc.annotations)) {
      throw new FusionError(
        'BAD_DATASET',
        `${shownPath(file)}: expected JSON Lines of {question_id, answer|answers|label|text} or a VQA annotation file {annotations: [...]}, found ${describe(doc)}`,
      );
    }
    for (const [id, entry] of indexVqaAnnotations(file, doc)) {
      gold.set(id, typeof entry === 'string' ? entry : { ...entry, metric: 'vqa' });
    }
    return gold;
  }
  for await (const entry of jsonLines(file)) {
    if (entry.error !== undefined || !isObject(entry.value)) continue;
    const id = idOf(entry.value.question_id);
    if (id === null) continue;
    gold.set(id, lineGold(entry.value) ?? `answers line ${entry.line} of ${shownPath(file)} has no answer`);
  }
  return gold;
}

function answersFile(source: DatasetSource, questions: string): string | undefined {
  if (source.options.answers !== undefined) return source.options.answers;
  const candidates = [`${stem(questions)}_answers.jsonl`];
  if (basename(questions) === BENCH.questions) candidates.push(BENCH.answers);
  const found = candidates.find((name) => source.entries.includes(name));
  return found === undefined ? undefined : join(source.dir, found);
}

export const llava: DatasetFormat = {
  name: 'llava-jsonl',
  summary: 'LLaVA eval: llava_*.jsonl lines of {question_id, image, text, category?} (+ answers file)',
  matchName(source) {
    if (!source.isDirectory) {
      const name = basename(source.path);
      return LLAVA.test(name) ? `file name ${quoted(name)}` : null;
    }
    const names = source.entries.filter((n) => LLAVA.test(n));
    if (source.entries.includes(BENCH.questions) && source.entries.includes(BENCH.answers)) {
      names.push(BENCH.questions);
    }
    return names.length > 0 ? `LLaVA question file ${names.map((n) => quoted(n)).join(', ')}` : null;
  },
  matchShape(shape) {
    const first = shape.kind === 'lines' ? shape.first : undefined;
    return isObject(first) &&
      'question_id' in first &&
      'image' in first &&
      'text' in first &&
      !('label' in first)
      ? 'lines of {question_id, image, text}'
      : null;
  },
  async read(source) {
    const file = pickFile(source, FILE, 'LLaVA question file');
    const goldFile = answersFile(source, file);
    const gold = goldFile === undefined ? undefined : await loadGold(goldFile, source.files);
    const sink = newSink(source, ['images', 'val2014', 'test2015', 'train_images', 'data/images', '.']);
    for await (const entry of jsonLines(file)) {
      const where = { file, line: entry.line };
      if (entry.error !== undefined) {
        sink.skip(where, entry.error);
        continue;
      }
      const raw = entry.value;
      if (!isObject(raw)) {
        sink.skip(where, 'not a JSON object');
        continue;
      }
      const id = idOf(raw.question_id);
      if (id === null) {
        sink.skip(where, 'missing "question_id"');
        continue;
      }
      const answers = gold === undefined ? UNANSWERED : gold.get(id);
      if (answers === undefined || typeof answers === 'string') {
        sink.skip(
          { ...where, id },
          answers ?? `no answer for question_id ${quoted(id)} in ${shownPath(goldFile ?? '')}`,
        );
        continue;
      }
      const category = optionalString(raw.category);
      sink.add(where, {
        id,
        image: nonEmptyString(raw.image) ?? '',
        question: nonEmptyString(raw.text) ?? '',
        ...answers,
        family: category ?? 'llava',
        questionType: category ?? answers.questionType,
      });
    }
    return { name: stem(file), ...(await sink.finish()) };
  },
};
