/**
 * VQA-CP v1/v2 (`vqacp_v2_{train,test}_questions.json` + `..._annotations.json`): VQAv2's questions
 * re-split so that answer priors differ between train and test. Where it differs from VQAv2's files:
 * both are top-level lists (no `{questions: [...]}` / `{annotations: [...]}` wrapper), and each
 * question names its own COCO split (`coco_split`), since a VQA-CP split mixes train2014 and val2014
 * images: `{coco_split}/COCO_{coco_split}_{image_id:012d}.jpg`. Scored like VQAv2 (soft accuracy over
 * the ten annotators; vqaAnnotations.ts reads the annotations).
 */
import { basename, join } from 'node:path';

import { quoted, shownPath } from '../../../../native-models/files/messageText.ts';
import { FusionError } from '../../../common/errors.ts';
import { describe, nonEmptyString } from '../fields.ts';
import { type DatasetFormat, type DatasetSource, matching, newSink, stem } from '../format.ts';
import { indexVqaAnnotations, vqaQuestion } from '../vqaAnnotations.ts';

const QUESTIONS = /^vqacp_v\d+_(train|test)_questions\.json$/i;
const ANNOTATIONS = /^vqacp_v\d+_(train|test)_annotations\.json$/i;
const SPLIT = /^(train|val)\d{4}$/;

/** [questions file, annotations file]: the opened one and its partner of the same split. */
function pair(source: DatasetSource): [string, string] {
  const name = source.isDirectory ? undefined : basename(source.path);
  const questions = name && QUESTIONS.test(name) ? [name] : matching(source, QUESTIONS);
  if (name && ANNOTATIONS.test(name)) {
    const partner = name.replace(/_annotations\.json$/i, '_questions.json');
    return [join(source.dir, partner), source.path];
  }
  if (questions.length !== 1) {
    const why = questions.length === 0 ? 'no' : `several (${questions.map((n) => quoted(n)).join(', ')})`;
    throw new FusionError(
      questions.length === 0 ? 'MISSING_FILE' : 'BAD_DATASET',
      `${shownPath(source.dir)}: ${why} VQA-CP question files (vqacp_v2_{train,test}_questions.json); open one of them`,
    );
  }
  const partner = questions[0].replace(/_questions\.json$/i, '_annotations.json');
  return [join(source.dir, questions[0]), source.options.answers ?? join(source.dir, partner)];
}

export const vqacp: DatasetFormat = {
  name: 'vqacp',
  summary: 'VQA-CP: vqacp_v2_{split}_questions.json + _annotations.json (lists), COCO images of both splits',
  matchName(source) {
    if (!source.isDirectory) {
      const name = basename(source.path);
      return QUESTIONS.test(name) || ANNOTATIONS.test(name) ? `file name ${quoted(name)}` : null;
    }
    const found = matching(source, QUESTIONS);
    return found.length > 0 ? `VQA-CP question files (${found.map((n) => quoted(n)).join(', ')})` : null;
  },
  async read(source) {
    const [questionsFile, annotationsFile] = pair(source);
    const [questions, annotations] = await Promise.all([
      source.files.document(questionsFile),
      source.files.document(annotationsFile),
    ]);
    for (const [file, doc] of [
      [questionsFile, questions],
      [annotationsFile, annotations],
    ] as const) {
      if (!Array.isArray(doc)) {
        throw new FusionError(
          'BAD_DATASET',
          `${shownPath(file)}: expected a list (VQA-CP), found ${describe(doc)}`,
        );
      }
    }
    // The annotation entries are VQAv2's, only not wrapped in {annotations: [...]}.
    const gold = indexVqaAnnotations(annotationsFile, { annotations });
    const sink = newSink(source, ['.', 'images']);
    (questions as unknown[]).forEach((entry, index) => {
      const where = { file: questionsFile, index };
      const read = vqaQuestion(entry, where, gold, annotationsFile, sink);
      if (read === null) return;
      const split = nonEmptyString(read.entry.coco_split);
      if (split === null || !SPLIT.test(split)) {
        return sink.skip(
          read.at,
          `"coco_split" must name a COCO split such as "train2014", found ${quoted(read.entry.coco_split)}`,
        );
      }
      sink.add(where, {
        id: read.id,
        image: `${split}/COCO_${split}_${String(read.imageId).padStart(12, '0')}.jpg`,
        question: read.question,
        ...read.gold,
        metric: 'vqa',
        family: read.gold.answerType ?? 'other',
        meta: { imageId: read.imageId, cocoSplit: split },
      });
    });
    return { name: stem(questionsFile), ...(await sink.finish()) };
  },
};
