/**
 * Opening a dataset's own files (JSON, JSON Lines, CSV) the way the engine opens every file a user or
 * a file names: only a regular file, never blocking on a FIFO (main/engine/files/regularFile.ts, whose
 * FusionErrors name the file and what is there). Read errors give the errno code, never file contents.
 */
import type { FileHandle } from 'node:fs/promises';

import { shownPath } from '../../../native-models/files/messageText.ts';
import { FusionError } from '../../common/errors.ts';
import { openRegularFile } from '../files/regularFile.ts';

/** A failure while reading `path`, as a FusionError (refusals from opening it already are one). */
export function readError(path: string, error: unknown): FusionError {
  if (error instanceof FusionError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
  return new FusionError('BAD_DATASET', `${shownPath(path)}: cannot read (${code})`, { cause: error });
}

/** The open handle (the caller closes it) and the file's size. */
export async function openDatasetFile(path: string): Promise<{ handle: FileHandle; size: number }> {
  const { handle, stats } = await openRegularFile(path);
  return { handle, size: stats.size };
}

/** The whole file, refused unless it is a regular file. */
export async function readDatasetBytes(path: string): Promise<Buffer> {
  const { handle } = await openDatasetFile(path);
  try {
    return await handle.readFile();
  } catch (error) {
    throw readError(path, error);
  } finally {
    await handle.close();
  }
}
