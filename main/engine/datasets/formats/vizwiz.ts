/**
 * VizWiz-VQA (`Annotations/{train,val,test}.json`): a list of `{image: "VizWiz_val_00000000.jpg",
 * question, answers: [{answer, answer_confidence}] × 10, answer_type, answerable}`; images in the
 * split's folder (`val/`). One question per image, so the image name is the item id. Scored with VQA
 * soft accuracy.
 */
import { basename } from 'node:path';

import { FusionError } from '../../../common/errors.ts';
import { quoted, shownPath } from '../../../../native-models/files/messageText.ts';
import {
  annotatorAnswers,
  compact,
  describe,
  isObject,
  nonEmptyString,
  optionalString,
  rankAnswers,
} from '../fields.ts';
import { type DatasetFormat, newSink, pickFile, stem } from '../format.ts';

/** The official annotation names, only trusted next to a split folder of the same name. */
const FILE = /^(train|val|test)\.json$/;

export const vizwiz: DatasetFormat = {
  name: 'vizwiz',
  summary: 'VizWiz: {train,val,test}.json, a list of {image, question, answers, answer_type}',
  matchName(source) {
    const names = source.isDirectory ? source.entries : [basename(source.path)];
    const hit = names.find((n) => FILE.test(n) && source.entries.includes(n.slice(0, -'.json'.length)));
    return hit === undefined ? null : `${quoted(hit)} beside an image folder of the same split`;
  },
  matchShape(shape) {
    if (shape.kind !== 'document' || !Array.isArray(shape.value)) return null;
    const first: unknown = shape.value[0];
    return isObject(first) && typeof first.image === 'string' && 'question' in first
      ? 'a list of {image, question, answers}'
      : null;
  },
  async read(source) {
    const file = pickFile(source, FILE, 'VizWiz annotation file');
    const doc = await source.files.document(file);
    if (!Array.isArray(doc)) {
      throw new FusionError(
        'BAD_DATASET',
        `${shownPath(file)}: expected a list of {image, question, answers} (VizWiz), found ${describe(doc)}`,
      );
    }
    const sink = newSink(source, ['val', 'train', 'test', 'images', '.']);
    doc.forEach((entry, index) => {
      const where = { file, index };
      if (!isObject(entry)) return sink.skip(where, 'not a JSON object');
      const image = nonEmptyString(entry.image);
      if (image === null) return sink.skip(where, 'missing "image"');
      const raw = annotatorAnswers(entry.answers) ?? [];
      const answerType = optionalString(entry.answer_type);
      sink.add(where, {
        id: stem(image),
        image,
        question: nonEmptyString(entry.question) ?? '',
        answers: rankAnswers(raw),
        annotatorAnswers: raw,
        metric: 'vqa',
        family: answerType ?? 'vizwiz',
        answerType,
        meta: compact({ answerable: entry.answerable }),
      });
    });
    return { name: `vizwiz-${stem(file)}`, ...(await sink.finish()) };
  },
};
