/**
 * GQA questions (`{split}_balanced_questions.json`, `{split}_all_questions.json`): an object from
 * question id to `{imageId, question, answer, fullAnswer, types: {structural, semantic, detailed},
 * annotations: {question, answer, fullAnswer: {tokenRange: objectId}}, ...}`; images
 * `images/{imageId}.jpg`. Exact-match scored. With the split's scene graph (`{split}_sceneGraphs.json`
 * beside the questions, or the sceneGraphs option) the annotated objects become the item's boxes.
 */
import { basename, join } from 'node:path';

import { FusionError } from '../../../common/errors.ts';
import {
  compact,
  describe,
  idOf,
  isObject,
  type JsonObject,
  nonEmptyString,
  optionalString,
} from '../fields.ts';
import { quoted, shownPath } from '../../../../native-models/files/messageText.ts';
import { type DatasetFormat, type DatasetSource, matching, newSink, pickFile, stem } from '../format.ts';
import type { Box } from '../types.ts';

const FILE = /^([A-Za-z]+)_(balanced|all)_questions(_\d+)?\.json$/;
const SHAPE = 'an object from question id to {imageId, question, answer} (GQA questions)';

function firstValue(object: JsonObject): unknown {
  for (const key in object) return object[key];
  return undefined;
}

/** The scene graph's objects by image id, or undefined when there is none for this split. */
async function sceneGraphs(source: DatasetSource, questionsFile: string): Promise<JsonObject | undefined> {
  let file = source.options.sceneGraphs;
  if (file === undefined) {
    const split = FILE.exec(basename(questionsFile))?.[1];
    const name = split === undefined ? undefined : `${split}_sceneGraphs.json`;
    if (name === undefined || !source.entries.includes(name)) return undefined;
    file = join(source.dir, name);
  }
  const doc = await source.files.document(file);
  if (!isObject(doc)) {
    throw new FusionError(
      'BAD_DATASET',
      `${shownPath(file)}: expected an object from image id to scene graph, found ${describe(doc)}`,
    );
  }
  return doc;
}

/** Object ids referenced by the question, answer and full answer, in that order, without repeats. */
function annotatedObjects(annotations: unknown): string[] {
  const ids = new Set<string>();
  if (!isObject(annotations)) return [];
  for (const part of ['question', 'answer', 'fullAnswer']) {
    const spans = annotations[part];
    if (!isObject(spans)) continue;
    for (const value of Object.values(spans)) {
      for (const id of Array.isArray(value) ? value : [value]) if (typeof id === 'string') ids.add(id);
    }
  }
  return [...ids];
}

/** GQA boxes are x, y (top left), w, h in pixels; ours are x0, y0, x1, y1 with x1/y1 exclusive. */
function boxesOf(graph: unknown, ids: string[]): { boxes: Box[]; unresolved: string[] } {
  const objects = isObject(graph) && isObject(graph.objects) ? graph.objects : {};
  const boxes: Box[] = [];
  const unresolved: string[] = [];
  for (const id of ids) {
    const o = objects[id];
    const [x, y, w, h] = isObject(o) ? [o.x, o.y, o.w, o.h] : [];
    const ok = [x, y, w, h].every((v) => typeof v === 'number' && Number.isFinite(v)) && (w as number) >= 0;
    if (ok && (h as number) >= 0) {
      boxes.push([x as number, y as number, (x as number) + (w as number), (y as number) + (h as number)]);
    } else unresolved.push(id);
  }
  return { boxes, unresolved };
}

export const gqa: DatasetFormat = {
  name: 'gqa',
  summary: 'GQA: {split}_balanced_questions.json {qid: {imageId, question, answer}}, images/{imageId}.jpg',
  matchName(source) {
    const names = source.isDirectory ? matching(source, FILE) : [basename(source.path)];
    return names.length > 0 && FILE.test(names[0])
      ? `file name ${names.map((n) => quoted(n)).join(', ')}`
      : null;
  },
  matchShape(shape) {
    if (shape.kind !== 'document' || !isObject(shape.value)) return null;
    const first = firstValue(shape.value);
    return isObject(first) && 'imageId' in first && 'question' in first
      ? 'an object from question id to {imageId, question}'
      : null;
  },
  async read(source) {
    const file = pickFile(source, FILE, 'GQA question file');
    const doc = await source.files.document(file);
    if (!isObject(doc)) {
      throw new FusionError('BAD_DATASET', `${shownPath(file)}: expected ${SHAPE}, found ${describe(doc)}`);
    }
    // A wrong file (e.g. VQA's {questions: [...]}) is refused whole instead of as one odd entry; its
    // key is not quoted, as the file is not GQA's.
    const first = firstValue(doc);
    if (first !== undefined && !(isObject(first) && ('imageId' in first || 'question' in first))) {
      throw new FusionError(
        'BAD_DATASET',
        `${shownPath(file)}: expected ${SHAPE}, but the first entry holds ${describe(first)}`,
      );
    }
    const graphs = await sceneGraphs(source, file);
    const sink = newSink(source, ['images', '.']);
    for (const [id, entry] of Object.entries(doc)) {
      const where = { file, id };
      if (!isObject(entry)) {
        sink.skip(where, 'not a JSON object');
        continue;
      }
      const imageId = idOf(entry.imageId);
      if (imageId === null) {
        sink.skip(where, 'missing "imageId"');
        continue;
      }
      const answer = nonEmptyString(entry.answer);
      const types = isObject(entry.types) ? entry.types : {};
      const objectIds = annotatedObjects(entry.annotations);
      const located = graphs === undefined ? undefined : boxesOf(graphs[imageId], objectIds);
      sink.add(where, {
        id,
        image: `${imageId}.jpg`,
        question: nonEmptyString(entry.question) ?? '',
        answers: answer === null ? [] : [answer],
        metric: 'exact',
        family: optionalString(types.semantic) ?? 'gqa',
        subtype: optionalString(types.structural) ?? null,
        questionType: optionalString(types.detailed),
        boxes: located?.boxes,
        meta: compact({
          imageId,
          fullAnswer: entry.fullAnswer,
          isBalanced: entry.isBalanced,
          groups: entry.groups,
          objectIds: objectIds.length > 0 ? objectIds : undefined,
          unresolvedObjects: located && located.unresolved.length > 0 ? located.unresolved : undefined,
        }),
      });
    }
    return { name: stem(file), ...(await sink.finish()) };
  },
};
