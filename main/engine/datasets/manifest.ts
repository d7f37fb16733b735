/**
 * `dataset.json`: the fusionscope-vqa manifest, and the way to pin any other format and its files:
 * `{"format": "vqav2", "name"?, "file"?, "answers"?, "images"?, "sceneGraphs"?, "question"?}`, paths
 * relative to the manifest's folder and kept inside it.
 */
import { join } from 'node:path';

import { FusionError } from '../../common/errors.ts';
import { quoted, shownPath } from '../../../native-models/files/messageText.ts';
import { describe, isObject } from './fields.ts';
import type { JsonFiles } from './jsonFiles.ts';
import { resolveInside } from './paths.ts';

export const MANIFEST = 'dataset.json';

export interface Manifest {
  readonly path: string;
  readonly format: string;
  readonly name?: string;
  /** The main file to open instead of the folder. */
  readonly file?: string;
  readonly answers?: string;
  readonly images?: string;
  readonly sceneGraphs?: string;
  readonly question?: string;
}

const PATH_KEYS = ['file', 'answers', 'images', 'sceneGraphs'] as const;

export async function readManifest(folder: string, files: JsonFiles): Promise<Manifest> {
  const path = join(folder, MANIFEST);
  const doc = await files.document(path);
  if (!isObject(doc))
    throw new FusionError('BAD_DATASET', `${shownPath(path)}: expected an object, found ${describe(doc)}`);
  if (typeof doc.format !== 'string') {
    throw new FusionError(
      'BAD_DATASET',
      `${shownPath(path)}: "format" must name the dataset format, found ${describe(doc.format)}`,
    );
  }
  const paths: Partial<Record<(typeof PATH_KEYS)[number], string>> = {};
  for (const key of PATH_KEYS) {
    const value = doc[key];
    if (value === undefined) continue;
    const full = typeof value === 'string' ? resolveInside(folder, value) : null;
    if (full === null) {
      throw new FusionError(
        'BAD_DATASET',
        `${shownPath(path)}: "${key}" ${typeof value === 'string' ? quoted(value) : describe(value)} must be a path inside ${shownPath(folder)}`,
      );
    }
    paths[key] = full;
  }
  return {
    path,
    format: doc.format,
    name: typeof doc.name === 'string' ? doc.name : undefined,
    question: typeof doc.question === 'string' ? doc.question : undefined,
    ...paths,
  };
}
