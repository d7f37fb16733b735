/**
 * DocVQA single-page task (`{train,val,test}_v1.0.json`, `val_v1.0_withQT.json`): `{dataset_split,
 * data: [{questionId, question, image: "documents/xxx.png", answers, question_types?, docId, ...}]}`.
 * `image` is relative to the split folder, which holds the JSON or sits beside it. Scored with ANLS.
 */
import { basename } from 'node:path';

import { compact, idOf, isObject, nonEmptyString, rankAnswers, stringList } from '../fields.ts';
import {
  type DatasetFormat,
  matchDataList,
  matchFileName,
  newSink,
  pickFile,
  requireList,
  stem,
} from '../format.ts';

const FILE = /^(train|val|test)_v1\.0(_withQT)?\.json$/i;
const SHAPE = 'an object with a "data" list of {questionId, question, image, answers} (DocVQA)';

export const docvqa: DatasetFormat = {
  name: 'docvqa',
  summary: 'DocVQA: {split}_v1.0.json {data: [{questionId, question, image, answers}]}',
  matchName: matchFileName(FILE),
  matchShape: matchDataList(['questionId', 'image']),
  async read(source) {
    const file = pickFile(source, FILE, 'DocVQA file');
    const doc = await source.files.document(file);
    const data = requireList(file, doc, 'data', SHAPE);
    const split =
      FILE.exec(basename(file))?.[1] ?? (isObject(doc) ? nonEmptyString(doc.dataset_split) : null);
    const sink = newSink(source, split ? ['.', split] : ['.']);
    data.forEach((entry, index) => {
      const where = { file, index };
      if (!isObject(entry)) return sink.skip(where, 'not a JSON object');
      const id = idOf(entry.questionId);
      if (id === null) return sink.skip(where, 'missing "questionId"');
      const types = stringList(entry.question_types) ?? [];
      sink.add(where, {
        id,
        image: nonEmptyString(entry.image) ?? '',
        question: nonEmptyString(entry.question) ?? '',
        answers: rankAnswers(stringList(entry.answers) ?? []),
        metric: 'anls',
        family: types[0] ?? 'docvqa',
        questionType: types.length > 0 ? types.join(',') : undefined,
        meta: compact({
          docId: entry.docId,
          document: entry.ucsf_document_id,
          page: entry.ucsf_document_page_no,
          questionTypes: types.length > 0 ? types : undefined,
        }),
      });
    });
    return { name: stem(file), ...(await sink.finish()) };
  },
};
