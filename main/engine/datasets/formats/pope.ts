/**
 * POPE (`{coco,aokvqa,gqa}_pope_{random,popular,adversarial}.json`, JSON Lines despite the name):
 * `{question_id, image, text, label: "yes" | "no"}`. The subtype comes from the file name; a folder
 * opens every POPE file in it as one dataset, ids prefixed with the subtype (question ids restart per
 * file). Scored with POPE's yes/no accuracy, precision, recall and F1.
 */
import { basename, join } from 'node:path';

import { FusionError } from '../../../common/errors.ts';
import { quoted, shownPath } from '../../../../native-models/files/messageText.ts';
import { describe, idOf, isObject, nonEmptyString } from '../fields.ts';
import { type DatasetFormat, matching, newSink, stem } from '../format.ts';
import { jsonLines } from '../jsonFiles.ts';

const FILE = /pope_(random|popular|adversarial)\.jsonl?$/i;
const SUBTYPE = /(random|popular|adversarial)/i;

export const pope: DatasetFormat = {
  name: 'pope',
  summary: 'POPE: *_pope_{random,popular,adversarial}.json lines of {question_id, image, text, label}',
  matchName(source) {
    const names = source.isDirectory ? matching(source, FILE) : [basename(source.path)];
    return names.length > 0 && FILE.test(names[0])
      ? `file name ${names.map((n) => quoted(n)).join(', ')}`
      : null;
  },
  matchShape(shape) {
    const first = shape.kind === 'lines' ? shape.first : shape.value;
    return isObject(first) && 'label' in first && 'image' in first && 'text' in first
      ? 'lines of {question_id, image, text, label}'
      : null;
  },
  async read(source) {
    const files = source.isDirectory ? matching(source, FILE).map((n) => join(source.dir, n)) : [source.path];
    if (files.length === 0) {
      throw new FusionError('MISSING_FILE', `${shownPath(source.dir)}: no POPE files (${FILE})`);
    }
    const sink = newSink(source, ['val2014', 'images', '.']);
    for (const file of files) {
      const subtype = SUBTYPE.exec(basename(file))?.[1]?.toLowerCase() ?? null;
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
        const questionId = idOf(raw.question_id);
        if (questionId === null) {
          sink.skip(where, 'missing "question_id"');
          continue;
        }
        const id = subtype === null ? questionId : `${subtype}-${questionId}`;
        const label = typeof raw.label === 'string' ? raw.label.trim().toLowerCase() : '';
        if (label !== 'yes' && label !== 'no') {
          const found = typeof raw.label === 'string' ? quoted(raw.label) : describe(raw.label);
          sink.skip({ ...where, id }, `"label" must be "yes" or "no", found ${found}`);
          continue;
        }
        sink.add(where, {
          id,
          image: nonEmptyString(raw.image) ?? '',
          question: nonEmptyString(raw.text) ?? '',
          answers: [label],
          metric: 'pope',
          family: 'exist',
          subtype,
          answerType: 'yes/no',
          meta: { questionId: raw.question_id },
        });
      }
    }
    const name = files.length === 1 ? stem(files[0]) : `pope-${basename(source.dir)}`;
    return { name, ...(await sink.finish()) };
  },
};
