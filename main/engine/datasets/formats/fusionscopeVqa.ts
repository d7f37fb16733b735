/**
 * `fusionscope-vqa` (main/engine/synthetic/FORMAT.md): `dataset.json` manifest plus `items.jsonl`, images
 * beside them. Items are scored by exact match; boxes are carried through.
 */
import { join } from 'node:path';

import { FusionError } from '../../../common/errors.ts';
import { quoted, shownPath } from '../../../../native-models/files/messageText.ts';
import { describe, isObject } from '../fields.ts';
import type { DatasetFormat, FormatOutput } from '../format.ts';
import { JsonFiles, jsonLines } from '../jsonFiles.ts';
import { ImageLocator } from '../paths.ts';
import { type Draft, ItemSink } from '../sink.ts';
import type { Box } from '../types.ts';

export const FUSIONSCOPE_MANIFEST = 'dataset.json';
const ITEMS = 'items.jsonl';

function isBox(value: unknown): value is Box {
  return (
    Array.isArray(value) &&
    value.length === 4 &&
    value.every((v) => typeof v === 'number' && Number.isFinite(v)) &&
    value[2] >= value[0] &&
    value[3] >= value[1]
  );
}

function toDraft(raw: unknown): Draft | string {
  if (!isObject(raw)) return 'not a JSON object';
  const { id, image, question, answers, family, subtype, boxes } = raw;
  if (typeof id !== 'string' || id === '') return '"id" must be a non-empty string';
  if (typeof image !== 'string' || image === '') return '"image" must be a relative path';
  if (typeof question !== 'string' || question.trim() === '') return '"question" must be a non-empty string';
  if (!Array.isArray(answers) || answers.length === 0 || !answers.every((a) => typeof a === 'string')) {
    return '"answers" must be a non-empty list of strings';
  }
  const boxList = boxes ?? [];
  if (!Array.isArray(boxList) || !boxList.every(isBox))
    return '"boxes" must be a list of [x0, y0, x1, y1] with x0 ≤ x1, y0 ≤ y1';
  return {
    id,
    image,
    question,
    answers,
    metric: 'exact',
    family: typeof family === 'string' ? family : 'unknown',
    subtype: typeof subtype === 'string' ? subtype : null,
    boxes: boxList,
  };
}

/** Reads a folder; `images` (if given) replaces the folder as the root of the items' image paths. */
export async function readFusionscopeVqa(
  folder: string,
  files: JsonFiles,
  options: { checkImages: boolean; images?: string },
): Promise<FormatOutput> {
  const manifestPath = join(folder, FUSIONSCOPE_MANIFEST);
  const manifest = await files.document(manifestPath);
  const format = isObject(manifest) ? manifest.format : undefined;
  if (format !== 'fusionscope-vqa') {
    throw new FusionError(
      'BAD_DATASET',
      `${shownPath(manifestPath)}: "format" is ${typeof format === 'string' ? quoted(format) : describe(format)}, expected "fusionscope-vqa"`,
    );
  }
  const itemsPath = join(folder, ITEMS);
  const sink = new ItemSink(new ImageLocator(options.images ?? folder, ['.'], options.checkImages));
  for await (const entry of jsonLines(itemsPath)) {
    const where = { file: itemsPath, line: entry.line };
    sink.add(where, entry.error ?? toDraft(entry.value));
  }
  const name = isObject(manifest) && typeof manifest.name === 'string' ? manifest.name : folder;
  return { name, ...(await sink.finish()) };
}

export const fusionscopeVqa: DatasetFormat = {
  name: 'fusionscope-vqa',
  summary: 'FusionScope synthetic VQA: dataset.json {"format": "fusionscope-vqa"} + items.jsonl',
  matchName: (source) =>
    source.entries.includes(FUSIONSCOPE_MANIFEST) && source.entries.includes(ITEMS)
      ? `${FUSIONSCOPE_MANIFEST} + ${ITEMS}`
      : null,
  read: (source) =>
    readFusionscopeVqa(source.dir, source.files, {
      checkImages: source.options.checkImages,
      images: source.options.images,
    }),
};
