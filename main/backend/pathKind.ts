/**
 * What a path dropped on the window (or typed) holds: a model folder, a dataset or an image, judged by
 * what is there, never by what the renderer said it was. Only the first bytes of a file are read (an
 * image's magic number); opening the model or importing the dataset afterwards checks everything.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';

import type { PathKind } from '../common/api/index.ts';
import { FusionError } from '../common/errors.ts';
import { checkpointFolder } from '../engine/model/checkpointFolder.ts';
import { openRegularFile, somethingAt } from '../engine/files/regularFile.ts';
import { shownPath } from '../engine/files/messageText.ts';
import { detectFormat, FORMAT_LABELS } from '../engine/image/format.ts';

/** Weight files a model folder holds even when its config.json is missing (opening it says what is). */
const WEIGHT_FILE = /\.(safetensors|gguf)$|^pytorch_model.*\.bin$/i;
/** A Hugging Face hub cache entry: models--<org>--<name>. */
const HUB_CACHE_ENTRY = /^models--/;
/** Enough for every signature detectFormat reads. */
const HEADER_BYTES = 32;

async function header(path: string): Promise<Uint8Array> {
  const file = await openRegularFile(path);
  try {
    const buffer = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await file.handle.read(buffer, 0, HEADER_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.handle.close();
  }
}

async function inspectFolder(folder: string): Promise<PathKind> {
  const checkpoint = await checkpointFolder(folder);
  const name = basename(folder);
  if (await somethingAt(join(checkpoint, 'config.json'))) {
    const why = join(relative(folder, checkpoint), 'config.json');
    return { kind: 'model', path: checkpoint, name, why };
  }
  if (HUB_CACHE_ENTRY.test(name))
    return { kind: 'model', path: folder, name, why: 'a Hugging Face cache folder' };
  const weights = (await readdir(folder)).find((entry) => WEIGHT_FILE.test(entry));
  if (weights !== undefined) return { kind: 'model', path: folder, name, why: weights };
  // Anything else may be an image folder or hold a dataset's files; the import says which, or why not.
  return { kind: 'dataset', path: folder, name, why: 'a folder that is no model' };
}

async function inspectFile(file: string): Promise<PathKind> {
  const name = basename(file);
  if (name === 'config.json')
    return {
      kind: 'model',
      path: await checkpointFolder(dirname(file)),
      name: basename(dirname(file)),
      why: name,
    };
  if (WEIGHT_FILE.test(name)) return { kind: 'model', path: file, name, why: name };
  const format = detectFormat(await header(file));
  if (format !== null) return { kind: 'image', path: file, name, why: `${FORMAT_LABELS[format]} image` };
  return { kind: 'dataset', path: file, name, why: 'a file that is no image or model' };
}

export async function inspectPath(path: string): Promise<PathKind> {
  if (!isAbsolute(path)) {
    throw new FusionError('BAD_ARGUMENT', `${shownPath(path)}: a dropped path must be absolute`);
  }
  const absolute = resolve(path);
  const info = await stat(absolute).catch((error: NodeJS.ErrnoException) => {
    const what =
      error.code === 'ENOENT' ? 'no such file or folder' : `cannot be read (${error.code ?? error.message})`;
    throw new FusionError('MISSING_FILE', `${shownPath(absolute)}: ${what}`, { cause: error });
  });
  if (info.isDirectory()) return inspectFolder(absolute);
  if (info.isFile()) return inspectFile(absolute);
  throw new FusionError(
    'BAD_ARGUMENT',
    `${shownPath(absolute)}: not a file or folder (a device, socket or pipe cannot be opened)`,
  );
}
