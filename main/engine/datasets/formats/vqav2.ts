/**
 * VQAv2 / VQA v1 / OK-VQA: the official question JSON (`{data_subtype, questions: [{image_id, question,
 * question_id}]}`) paired with the annotation JSON (vqaAnnotations.ts); images are COCO files named
 * `COCO_{split}_{image_id:012d}.jpg`. Scored with VQA soft accuracy over the 10 annotator answers.
 */
import { basename, join } from 'node:path';

import { FusionError } from '../../../common/errors.ts';
import { quoted, shownPath } from '../../../../native-models/files/messageText.ts';
import { isObject, nonEmptyString } from '../fields.ts';
import { type DatasetFormat, type DatasetSource, matching, newSink, requireList, stem } from '../format.ts';
import { indexVqaAnnotations, vqaQuestion } from '../vqaAnnotations.ts';

const QUESTIONS = /(OpenEnded|MultipleChoice).*_questions\.json$/i;
const ANNOTATIONS = /_annotations\.json$/i;
/** The annotation files the benchmarks ship: v2_mscoco_val2014_annotations.json, mscoco_val2014_... */
const OFFICIAL_ANNOTATIONS = /mscoco.*_annotations\.json$/i;
const SPLIT = /(train|val|test-dev|test)\d{4}/;
const QUESTIONS_SHAPE = 'an object with a "questions" list (VQA question file)';

const splitOf = (name: string): string | undefined => SPLIT.exec(name)?.[0];

/** The one file in `dir` matching `test` and the same COCO split as `partner` (when it names one). */
function sibling(source: DatasetSource, test: RegExp, partner: string, what: string): string {
  const split = splitOf(basename(partner));
  const found = matching(source, test).filter((name) => split === undefined || splitOf(name) === split);
  if (found.length === 1) return join(source.dir, found[0]);
  if (found.length === 0) {
    throw new FusionError(
      'MISSING_FILE',
      `${shownPath(partner)}: no ${what} beside it${split ? ` for ${split}` : ''}; pass its path as the answers option`,
    );
  }
  throw new FusionError(
    'BAD_DATASET',
    `${shownPath(partner)}: several ${what}s beside it (${found.map((n) => quoted(n)).join(', ')})`,
  );
}

/** [questions file, annotations file] from whatever was opened. */
async function pair(source: DatasetSource): Promise<[string, string]> {
  const { answers } = source.options;
  if (source.isDirectory) {
    const questions = matching(source, QUESTIONS);
    if (questions.length !== 1) {
      const why = questions.length === 0 ? 'no' : `several (${questions.map((n) => quoted(n)).join(', ')})`;
      throw new FusionError(
        questions.length === 0 ? 'MISSING_FILE' : 'BAD_DATASET',
        `${shownPath(source.dir)}: ${why} VQA question files (*OpenEnded*_questions.json); open one of them`,
      );
    }
    const file = join(source.dir, questions[0]);
    return [file, answers ?? sibling(source, ANNOTATIONS, file, 'annotation file')];
  }
  const doc = await source.files.document(source.path);
  const isAnnotations = isObject(doc) && Array.isArray(doc.annotations) && !Array.isArray(doc.questions);
  if (isAnnotations) return [sibling(source, QUESTIONS, source.path, 'question file'), source.path];
  return [source.path, answers ?? sibling(source, ANNOTATIONS, source.path, 'annotation file')];
}

export const vqav2: DatasetFormat = {
  name: 'vqav2',
  summary: 'VQAv2 / OK-VQA: *OpenEnded*_questions.json + *_annotations.json, COCO_{split}_{id}.jpg',
  matchName(source) {
    if (!source.isDirectory) {
      const name = basename(source.path);
      return QUESTIONS.test(name) || OFFICIAL_ANNOTATIONS.test(name) ? `file name ${quoted(name)}` : null;
    }
    const questions = matching(source, QUESTIONS);
    return questions.length > 0 && matching(source, ANNOTATIONS).length > 0
      ? `VQA question and annotation files (${questions.map((n) => quoted(n)).join(', ')})`
      : null;
  },
  matchShape(shape) {
    if (shape.kind !== 'document' || !isObject(shape.value)) return null;
    if (Array.isArray(shape.value.questions)) return 'an object with a "questions" list';
    const first: unknown = Array.isArray(shape.value.annotations) ? shape.value.annotations[0] : undefined;
    return isObject(first) && 'question_id' in first && Array.isArray(first.answers)
      ? 'an object with an "annotations" list of {question_id, answers}'
      : null;
  },
  async read(source) {
    const [questionsFile, annotationsFile] = await pair(source);
    const [questionsDoc, annotationsDoc] = await Promise.all([
      source.files.document(questionsFile),
      source.files.document(annotationsFile),
    ]);
    const questions = requireList(questionsFile, questionsDoc, 'questions', QUESTIONS_SHAPE);
    const gold = indexVqaAnnotations(annotationsFile, annotationsDoc);
    const subtype =
      (isObject(questionsDoc) ? nonEmptyString(questionsDoc.data_subtype) : null) ??
      (isObject(annotationsDoc) ? nonEmptyString(annotationsDoc.data_subtype) : null) ??
      splitOf(basename(questionsFile));
    if (!subtype) {
      throw new FusionError(
        'BAD_DATASET',
        `${shownPath(questionsFile)}: no "data_subtype" (e.g. "val2014") to name the COCO images by, and none in the file name`,
      );
    }
    // test-dev questions are a subset of test2015 and use its images.
    const imageSplit = subtype.replace(/^test-dev/, 'test');
    const sink = newSink(source, [imageSplit, `images/${imageSplit}`, 'images', '.']);
    questions.forEach((entry, index) => {
      const where = { file: questionsFile, index };
      const read = vqaQuestion(entry, where, gold, annotationsFile, sink);
      if (read === null) return;
      sink.add(where, {
        id: read.id,
        image: `COCO_${imageSplit}_${String(read.imageId).padStart(12, '0')}.jpg`,
        question: read.question,
        ...read.gold,
        metric: 'vqa',
        family: read.gold.answerType ?? 'other',
        meta: { imageId: read.imageId },
      });
    });
    return { name: stem(questionsFile), ...(await sink.finish()) };
  },
};
