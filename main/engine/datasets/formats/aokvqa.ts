/**
 * A-OKVQA (`aokvqa_v1p0_{train,val,test}.json`): where it differs from VQAv2's question + annotation
 * pair, questions and answers share one list, `[{question_id, image_id, question, choices,
 * correct_choice_idx, direct_answers, difficult_direct_answer, rationales, split}]`, the images are
 * COCO 2017's (`{split}2017/{image_id:012d}.jpg`, no `COCO_` prefix), and the benchmark is multiple
 * choice: items carry the four choices, the gold label, and are asked as LLaVA-1.5 asks multiple
 * choice (metric `choice`). The ten direct answers stay in `meta.directAnswers` (A-OKVQA's DA
 * setting scores them with VQA accuracy). The test split has no gold: metric `none`.
 */
import { basename } from 'node:path';

import { shownPath } from '../../../../native-models/files/messageText.ts';
import { FusionError } from '../../../common/errors.ts';
import { describe, idOf, isObject, nonEmptyString, stringList } from '../fields.ts';
import { type DatasetFormat, matchFileName, newSink, pickFile, stem } from '../format.ts';
import { llavaChoicePrompt, optionLabels } from '../multipleChoice.ts';

const FILE = /^aokvqa_v\d+p\d+_(train|val|test)\.json$/i;
const SHAPE = 'a list of {question_id, image_id, question, choices} (A-OKVQA)';

export const aokvqa: DatasetFormat = {
  name: 'aokvqa',
  summary: 'A-OKVQA: aokvqa_v1p0_{split}.json, multiple choice over COCO 2017 images',
  matchName: matchFileName(FILE),
  matchShape(shape) {
    if (shape.kind !== 'document' || !Array.isArray(shape.value)) return null;
    const first: unknown = shape.value[0];
    return isObject(first) && Array.isArray(first.choices) && 'direct_answers' in first ? SHAPE : null;
  },
  async read(source) {
    const file = pickFile(source, FILE, 'A-OKVQA file');
    const doc = await source.files.document(file);
    if (!Array.isArray(doc)) {
      throw new FusionError('BAD_DATASET', `${shownPath(file)}: expected ${SHAPE}, found ${describe(doc)}`);
    }
    const split = FILE.exec(basename(file))?.[1];
    const folders = split ? [`${split}2017`, `images/${split}2017`, 'images', '.'] : ['images', '.'];
    const sink = newSink(source, folders);
    doc.forEach((entry, index) => {
      const where = { file, index };
      if (!isObject(entry)) return sink.skip(where, 'not a JSON object');
      const id = idOf(entry.question_id);
      if (id === null) return sink.skip(where, 'missing "question_id"');
      const at = { ...where, id };
      const imageId = entry.image_id;
      if (!Number.isSafeInteger(imageId) || (imageId as number) < 0) {
        return sink.skip(at, '"image_id" must be a non-negative integer');
      }
      const texts = stringList(entry.choices);
      if (texts === null || texts.length !== (entry.choices as unknown[]).length) {
        return sink.skip(at, '"choices" must be a list of strings');
      }
      const labels = optionLabels(texts.length);
      const choices = texts.map((text, i) => ({ label: labels[i], text }));
      const correct = entry.correct_choice_idx;
      const hasGold = correct !== undefined && correct !== null;
      if (
        hasGold &&
        (!Number.isSafeInteger(correct) || (correct as number) < 0 || (correct as number) >= texts.length)
      ) {
        return sink.skip(at, `"correct_choice_idx" must be an index into the ${texts.length} choices`);
      }
      const question = nonEmptyString(entry.question) ?? '';
      sink.add(where, {
        id,
        image: `${String(imageId).padStart(12, '0')}.jpg`,
        question: question === '' ? '' : llavaChoicePrompt(question, null, choices),
        answers: hasGold ? [labels[correct as number]] : [],
        metric: hasGold ? 'choice' : 'none',
        family: 'aokvqa',
        choices,
        meta: {
          imageId,
          question,
          directAnswers: stringList(entry.direct_answers) ?? [],
          difficultDirectAnswer: entry.difficult_direct_answer === true,
        },
      });
    });
    return { name: stem(file), ...(await sink.finish()) };
  },
};
