/**
 * `openDataset(path, options)`: finds the format (caller's choice, else a `dataset.json` manifest, else
 * file names, else the opened file's JSON shape, else an image folder), reads the items, and refuses a
 * dataset with no usable item. Per-item problems come back in `skipped`; whole-file problems throw.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';

import { FusionError } from '../../common/errors.ts';
import { printable, quoted, shownPath } from '../../../native-models/files/messageText.ts';
import type { DatasetFormat, DatasetSource, ResolvedOptions, Shape } from './format.ts';
import { defaultImageCacheDir } from './embeddedImages.ts';
import { JsonFiles } from './jsonFiles.ts';
import { type Manifest, MANIFEST, readManifest } from './manifest.ts';
import { allFormats, formatByName } from './registry.ts';
import type { OpenDatasetOptions, OpenedDataset, SkippedItem } from './types.ts';

const MAX_REPORTED = 10;

/** `file line 3` / `file id "x"` / `file entry 7`: where a skipped entry is, escaped for display. */
export function skippedWhere(s: SkippedItem): string {
  const at =
    s.line !== undefined
      ? `line ${s.line}`
      : s.id !== undefined
        ? `id ${quoted(s.id)}`
        : s.index !== undefined
          ? `entry ${s.index}`
          : '';
  return `${shownPath(basename(s.file))}${at ? ` ${at}` : ''}`;
}

/** `file line 3: reason`, for messages and logs. */
export function describeSkipped(s: SkippedItem): string {
  return `${skippedWhere(s)}: ${printable(s.reason, Infinity)}`;
}

async function prepare(
  path: string,
  options: OpenDatasetOptions,
  files: JsonFiles,
): Promise<{ source: DatasetSource; manifest?: Manifest }> {
  const absolute = resolve(path);
  const info = await stat(absolute).catch((error: unknown) => {
    throw new FusionError('MISSING_FILE', `${shownPath(absolute)}: no such file or folder`, { cause: error });
  });
  const dir = info.isDirectory() ? absolute : dirname(absolute);
  const entries = (await readdir(dir)).sort();
  // A manifest speaks for its folder, and for the fusionscope-vqa files opened directly.
  const manifested =
    entries.includes(MANIFEST) &&
    (info.isDirectory() || [MANIFEST, 'items.jsonl'].includes(basename(absolute)));
  const manifest = manifested ? await readManifest(dir, files) : undefined;
  const opened = manifest?.file ?? (manifested ? dir : absolute);
  const isDirectory = opened === dir || (await stat(opened).catch(() => null))?.isDirectory() === true;
  const fromCaller = (value: string | undefined) => (value === undefined ? undefined : resolve(value));
  const resolved: ResolvedOptions = {
    answers: fromCaller(options.answers) ?? manifest?.answers,
    images: fromCaller(options.images) ?? manifest?.images,
    sceneGraphs: fromCaller(options.sceneGraphs) ?? manifest?.sceneGraphs,
    question: options.question ?? manifest?.question,
    checkImages: options.checkImages ?? true,
    imageCache: fromCaller(options.imageCache) ?? defaultImageCacheDir(),
  };
  return { source: { path: opened, isDirectory, dir, entries, files, options: resolved }, manifest };
}

async function shapeOf(source: DatasetSource): Promise<Shape | undefined> {
  if (source.isDirectory || !/\.jsonl?$/i.test(source.path)) return undefined;
  const sniffed = await source.files.sniff(source.path);
  return sniffed.kind === 'lines'
    ? sniffed
    : { kind: 'document', value: await source.files.document(source.path) };
}

async function detect(source: DatasetSource): Promise<DatasetFormat> {
  const primary = allFormats().filter((f) => !f.fallback);
  const fallback = allFormats().filter((f) => f.fallback);
  const test = (formats: DatasetFormat[], why: (f: DatasetFormat) => string | null | undefined) =>
    formats.flatMap((format) => {
      const reason = why(format);
      return reason ? [{ format, reason }] : [];
    });
  let matches = test(primary, (f) => f.matchName(source));
  if (matches.length === 0) {
    const shape = await shapeOf(source);
    if (shape !== undefined) matches = test(primary, (f) => f.matchShape?.(shape, source));
  }
  if (matches.length === 0) matches = test(fallback, (f) => f.matchName(source));
  if (matches.length === 1) return matches[0].format;
  if (matches.length > 1) {
    const list = matches.map((m) => `${m.format.name} (${m.reason})`).join(', ');
    throw new FusionError(
      'BAD_DATASET',
      `${shownPath(source.path)}: ambiguous dataset, it looks like ${list}; pass the format`,
    );
  }
  const known = allFormats()
    .map((f) => `  ${f.name}: ${f.summary}`)
    .join('\n');
  throw new FusionError(
    'BAD_DATASET',
    `${shownPath(source.path)}: cannot tell the dataset format; known formats:\n${known}`,
  );
}

export async function openDataset(path: string, options: OpenDatasetOptions = {}): Promise<OpenedDataset> {
  const files = new JsonFiles();
  const { source, manifest } = await prepare(path, options, files);
  const requested = options.format ?? 'auto';
  const format =
    requested !== 'auto'
      ? formatByName(requested, 'BAD_ARGUMENT', 'format option')
      : manifest !== undefined
        ? formatByName(manifest.format, 'BAD_DATASET', shownPath(manifest.path))
        : await detect(source);
  const { name, items, skipped } = await format.read(source);
  if (items.length === 0) {
    const shown = skipped.slice(0, MAX_REPORTED).map((s) => `\n  ${describeSkipped(s)}`);
    const more = skipped.length > MAX_REPORTED ? `\n  … and ${skipped.length - MAX_REPORTED} more` : '';
    throw new FusionError(
      'BAD_DATASET',
      `${shownPath(source.path)}: no usable items (${format.name}, ${skipped.length} skipped)${shown.join('')}${more}`,
    );
  }
  return { name: manifest?.name ?? name, format: format.name, folder: source.dir, items, skipped };
}
