/**
 * TextVQA (`TextVQA_0.5.1_{train,val,test}.json`): `{dataset_name, data: [{question_id, question,
 * image_id, answers: [10 strings], image_classes?, set_name?}]}`, images `train_images/{image_id}.jpg`
 * (val shares train's images) or `test_images/`. Scored with VQA soft accuracy.
 */

import { annotatorAnswers, compact, idOf, isObject, nonEmptyString, rankAnswers } from '../fields.ts';
import {
  type DatasetFormat,
  matchDataList,
  matchFileName,
  newSink,
  pickFile,
  requireList,
  stem,
} from '../format.ts';

const FILE = /^TextVQA_.*\.json$/i;
const SHAPE = 'an object with a "data" list of {question_id, question, image_id, answers} (TextVQA)';

export const textvqa: DatasetFormat = {
  name: 'textvqa',
  summary: 'TextVQA: TextVQA_*.json {data: [{question_id, image_id, question, answers}]}',
  matchName: matchFileName(FILE),
  matchShape: matchDataList(['question_id', 'image_id']),
  async read(source) {
    const file = pickFile(source, FILE, 'TextVQA file');
    const data = requireList(file, await source.files.document(file), 'data', SHAPE);
    const sink = newSink(source, ['train_images', 'test_images', 'images', '.']);
    data.forEach((entry, index) => {
      const where = { file, index };
      if (!isObject(entry)) return sink.skip(where, 'not a JSON object');
      const id = idOf(entry.question_id);
      if (id === null) return sink.skip(where, 'missing "question_id"');
      const imageId = idOf(entry.image_id);
      if (imageId === null) return sink.skip({ ...where, id }, 'missing "image_id"');
      const raw = annotatorAnswers(entry.answers) ?? [];
      sink.add(where, {
        id,
        image: `${imageId}.jpg`,
        question: nonEmptyString(entry.question) ?? '',
        answers: rankAnswers(raw),
        annotatorAnswers: raw,
        metric: 'vqa',
        family: 'textvqa',
        meta: compact({ imageId, setName: entry.set_name, imageClasses: entry.image_classes }),
      });
    });
    return { name: stem(file), ...(await sink.finish()) };
  },
};
