/**
 * Import-time checks of an item's image file, so that an image the engine would refuse is a skipped
 * item with its reason when the dataset is opened, not a failed sample deep into a run:
 * - after following symbolic links it is still inside the image root (a link to `/etc/passwd`, or a
 *   folder linked to elsewhere, is refused: an archive can carry such links);
 * - it is a regular file, opened without blocking (a FIFO never hangs the import) and without following
 *   a link swapped in after the check (native-models/files/regularFile.ts);
 * - its magic bytes are an image format the engine decodes (PNG, JPEG, BMP, WebP, GIF, TIFF, AVIF) and
 *   its header reads (for PNG the whole chunk list, so a truncated file or a bad header checksum is
 *   caught; for BMP every row's bytes are present), within the engine's file-size and pixel caps
 *   (`image/load.ts`).
 * Pixel data is not decompressed: a full decode costs 0.1-0.35 s per photo, hours for VQAv2's 40,000
 * images, where this reads a few KiB of a JPEG.
 */
import { type FileHandle, realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';

import { quoted, shownPath } from '../../../native-models/files/messageText.ts';
import { openResolvedRegularFile, type RegularFile } from '../../../native-models/files/regularFile.ts';
import { FusionError } from '../../common/errors.ts';
import { maxImageFileBytes, readImageHeader } from '../image/load.ts';

/** Enough for a JPEG's SOF behind its EXIF block in nearly every photo; other files whose header is not in it are read whole. */
const HEAD_BYTES = 16 * 1024;

/** The file's real path, why it cannot be used, or `absent` (look in the next folder). */
export type ImageCheck = { readonly path: string } | { readonly reason: string } | 'absent';

function isInside(root: string, path: string): boolean {
  const back = relative(root, path);
  return back !== '' && back !== '..' && !back.startsWith(`..${sep}`) && !isAbsolute(back);
}

/** Reads the header; when the first bytes are not enough, the whole file (already size-checked). */
async function headerProblem(handle: FileHandle, size: number, label: string): Promise<string | null> {
  const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
  await handle.read(head, 0, head.length, 0);
  try {
    await readImageHeader(head, label);
    return null;
  } catch (error) {
    if (!(error instanceof FusionError)) throw error;
    if (size <= head.length) return error.message;
  }
  try {
    await readImageHeader(await handle.readFile(), label);
    return null;
  } catch (error) {
    if (error instanceof FusionError) return error.message;
    throw error;
  }
}

/**
 * Checks `path` (an image the item names, `name` as written in the dataset) against `realRoot`, the
 * real path of the folder images must stay in.
 */
export async function checkImageFile(path: string, name: string, realRoot: string): Promise<ImageCheck> {
  const label = `image file ${quoted(name)}`;
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'absent';
    return { reason: `${label} cannot be resolved (${code === 'ELOOP' ? 'a symbolic link loop' : code})` };
  }
  if (!isInside(realRoot, real)) {
    return {
      reason: `${label} resolves outside ${shownPath(realRoot)} through a symbolic link; images must be inside the dataset (or pass the folder holding them as the images option)`,
    };
  }
  let opened: RegularFile;
  try {
    // No symbolic link followed any more, and the file opened must be the one checked above.
    opened = await openResolvedRegularFile(real);
  } catch (error) {
    // The message names the path and what is there (a FIFO, a device, a folder...).
    return { reason: `${label}: ${(error as Error).message}` };
  }
  const { handle, stats } = opened;
  const size = stats.size;
  try {
    const limit = maxImageFileBytes();
    if (size === 0) return { reason: `${label} is empty` };
    if (size > limit)
      return { reason: `${label} is ${size} bytes, more than the ${limit} bytes an image may have` };
    const problem = await headerProblem(handle, size, label);
    return problem === null ? { path: real } : { reason: problem };
  } catch (error) {
    return { reason: `${label} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'read error'})` };
  } finally {
    await handle.close();
  }
}
