/** The contract every dataset format implements, and the helpers readers share. */
import { basename, extname, join } from 'node:path';

import { FusionError } from '../../common/errors.ts';
import { quoted, shownPath } from '../../../native-models/files/messageText.ts';
import { describe, isObject } from './fields.ts';
import type { JsonFiles } from './jsonFiles.ts';
import { ImageLocator } from './paths.ts';
import { ItemSink } from './sink.ts';
import type { DatasetItem, FormatName, SkippedItem } from './types.ts';

/** Caller options and manifest keys merged, file paths made absolute. */
export interface ResolvedOptions {
  readonly answers?: string;
  readonly images?: string;
  readonly sceneGraphs?: string;
  readonly question?: string;
  readonly checkImages: boolean;
  /** Where images embedded in dataset files are written (embeddedImages.ts). */
  readonly imageCache: string;
}

export interface DatasetSource {
  /** Absolute path of what was opened: a file, or a folder. */
  readonly path: string;
  readonly isDirectory: boolean;
  /** `path` itself for a folder, else its parent: the dataset root. */
  readonly dir: string;
  /** Names in `dir`, sorted. */
  readonly entries: readonly string[];
  readonly files: JsonFiles;
  readonly options: ResolvedOptions;
}

/** What the opened file holds, for shape-based detection (never computed for folders). */
export type Shape = { kind: 'lines'; first: unknown } | { kind: 'document'; value: unknown };

export interface FormatOutput {
  readonly name: string;
  readonly items: DatasetItem[];
  readonly skipped: SkippedItem[];
}

export interface DatasetFormat {
  readonly name: FormatName;
  /** What the format is, for error messages. */
  readonly summary: string;
  /** Only tried when no other format matches (any folder with images is an image folder). */
  readonly fallback?: boolean;
  /** Why the file or folder names say this format, or null. Reads no file. */
  matchName(source: DatasetSource): string | null;
  /** Why the opened file's content looks like this format, or null. */
  matchShape?(shape: Shape, source: DatasetSource): string | null;
  read(source: DatasetSource): Promise<FormatOutput>;
}

export const stem = (path: string): string => basename(path, extname(path));

/** Entries of the source folder whose name passes `test`. */
export const matching = (source: DatasetSource, test: RegExp): string[] =>
  source.entries.filter((name) => test.test(name));

/** `matchName` for a format told by one file-name pattern: the opened file, or a folder entry. */
export function matchFileName(pattern: RegExp): DatasetFormat['matchName'] {
  return (source) => {
    const name = source.isDirectory ? source.entries.find((n) => pattern.test(n)) : basename(source.path);
    return name !== undefined && pattern.test(name) ? `file name ${quoted(name)}` : null;
  };
}

/** `matchShape` for a JSON document `{data: [...]}` whose first entry has all of `keys`. */
export function matchDataList(keys: readonly string[]): NonNullable<DatasetFormat['matchShape']> {
  return (shape) => {
    if (shape.kind !== 'document' || !isObject(shape.value) || !Array.isArray(shape.value.data)) return null;
    const first: unknown = shape.value.data[0];
    return isObject(first) && keys.every((key) => key in first)
      ? `an object with a "data" list of {${keys.join(', ')}}`
      : null;
  };
}

/**
 * The file a reader works on: the opened file itself, or the single folder entry matching `test`
 * (several are refused rather than guessed between).
 */
export function pickFile(source: DatasetSource, test: RegExp, what: string): string {
  if (!source.isDirectory) return source.path;
  const found = matching(source, test);
  if (found.length === 1) return join(source.dir, found[0]);
  if (found.length === 0)
    throw new FusionError('MISSING_FILE', `${shownPath(source.dir)}: no ${what} (${test})`);
  throw new FusionError(
    'BAD_DATASET',
    `${shownPath(source.dir)}: several ${what}s (${found.map((n) => quoted(n)).join(', ')}); open one of them instead of the folder`,
  );
}

/** `doc[key]` as a list, or a BAD_DATASET error saying what the file should have looked like. */
export function requireList(file: string, doc: unknown, key: string, expected: string): unknown[] {
  if (!isObject(doc)) {
    throw new FusionError('BAD_DATASET', `${shownPath(file)}: expected ${expected}, found ${describe(doc)}`);
  }
  const list = doc[key];
  if (list === undefined)
    throw new FusionError('BAD_DATASET', `${shownPath(file)}: missing "${key}" (${expected})`);
  if (!Array.isArray(list)) {
    throw new FusionError(
      'BAD_DATASET',
      `${shownPath(file)}: "${key}" must be a list, found ${describe(list)}`,
    );
  }
  return list;
}

/** A sink whose images are looked up in `folders` (relative to the dataset), or in `images` if given. */
export function newSink(source: DatasetSource, folders: readonly string[]): ItemSink {
  const { images, checkImages } = source.options;
  const locator =
    images === undefined
      ? new ImageLocator(source.dir, folders, checkImages)
      : new ImageLocator(images, ['.'], checkImages);
  return new ItemSink(locator);
}
