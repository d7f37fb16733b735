/**
 * Reading a path a user or a checkpoint names, only when it is a regular file, and never blocking.
 *
 * A FIFO where config.json belongs would hang the engine: open(2) on a FIFO waits for a writer, and
 * in browser mode every such open holds one of libuv's file-I/O threads for good. A device or a socket
 * is no model file either. Every read of a model folder's files and of the images named on the command
 * line goes through here:
 *
 *   lstat/stat ── nothing there, a folder, a FIFO, a symlink loop … ──▶ refused, saying what it is
 *       │ a regular file (symbolic links followed: the Hugging Face cache is made of them)
 *   open(O_RDONLY | O_NONBLOCK) ── a FIFO swapped in since the stat opens without waiting
 *       │
 *   fstat(handle) ── not a regular file ──▶ closed and refused (the stat → open race is closed here)
 *       │
 *   the caller reads through that same handle
 *
 * Errors are ModelFormatError('MISSING_FILE'), whose message names the path and says what is there.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, realpath, stat, type FileHandle } from 'node:fs/promises';

import { ModelFormatError } from '../errors.ts';
import { shownPath } from './messageText.ts';

// Windows has neither flag (nor FIFOs that block an open); 0 leaves the open as it was.
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

export interface RegularFile {
  readonly handle: FileHandle;
  /** The opened file's own stats (from fstat), not the path's. */
  readonly stats: Stats;
}

function refused(path: string, what: string): ModelFormatError {
  return new ModelFormatError('MISSING_FILE', `${shownPath(path)} ${what}`);
}

/** What a path names when it is not a regular file, in words. */
function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'is a directory, not a file';
  if (stats.isFIFO()) return 'is a FIFO (named pipe), not a regular file; refusing to read it';
  if (stats.isSocket()) return 'is a socket, not a regular file';
  if (stats.isCharacterDevice()) return 'is a character device, not a regular file';
  if (stats.isBlockDevice()) return 'is a block device, not a regular file';
  if (stats.isSymbolicLink()) return 'is a symbolic link, and links are not followed here';
  return 'is not a regular file';
}

/** The failed stat or open of `path` as a message: a broken link or a loop is not "missing". */
async function describeFailure(path: string, error: unknown): Promise<ModelFormatError> {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': {
      const link = await lstat(path).then(
        (s) => s.isSymbolicLink(),
        () => false,
      );
      return refused(path, link ? 'is a broken symbolic link (its target is missing)' : 'is missing');
    }
    case 'ELOOP':
      return refused(path, 'is a symlink loop (or a symbolic link where none is allowed)');
    case 'ENOTDIR':
      return refused(path, 'is missing (a folder on its path is a file)');
    case 'EISDIR':
      return refused(path, 'is a directory, not a file');
    case 'EACCES':
    case 'EPERM':
      return refused(path, 'cannot be read (permission denied)');
    case 'ENXIO':
      // open(2) of a socket, or of a device with no driver behind it.
      return refused(path, 'is not a regular file');
    default:
      return refused(path, `cannot be read (${code ?? String(error)})`);
  }
}

async function openChecked(path: string, flags: number): Promise<RegularFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | O_NONBLOCK | flags);
  } catch (error) {
    throw await describeFailure(path, error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw refused(path, kindOf(stats));
    return { handle, stats };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Opens `path` for reading if it is (a symbolic link to) a regular file; see the module comment. */
export async function openRegularFile(path: string): Promise<RegularFile> {
  let named: Stats;
  try {
    named = await stat(path);
  } catch (error) {
    throw await describeFailure(path, error);
  }
  // Refused before the open too: opening a device can have effects of its own (a tape rewinds).
  if (!named.isFile()) throw refused(path, kindOf(named));
  return openChecked(path, 0);
}

/**
 * Opens `path`, which the caller has already resolved with realpath and checked (the app's file
 * protocol): nothing on it may be a symbolic link, and the file opened must be the one the path
 * names after the open. A folder on the path swapped for a link between the check and the open would
 * otherwise lead the open elsewhere; the file's identity (device and inode) shows it.
 */
export async function openResolvedRegularFile(path: string): Promise<RegularFile> {
  const opened = await openChecked(path, O_NOFOLLOW);
  try {
    const [resolved, named] = await Promise.all([realpath(path), stat(path)]);
    if (resolved !== path || named.dev !== opened.stats.dev || named.ino !== opened.stats.ino) {
      throw refused(path, 'changed while it was being opened (a symbolic link was swapped in)');
    }
    return opened;
  } catch (error) {
    await opened.handle.close();
    throw error instanceof ModelFormatError ? error : await describeFailure(path, error);
  }
}

/** The bytes of the regular file at `path`, read through the handle that was checked. */
export async function readRegularFile(path: string): Promise<Buffer> {
  const { handle } = await openRegularFile(path);
  try {
    return await handle.readFile();
  } catch (error) {
    throw await describeFailure(path, error);
  } finally {
    await handle.close();
  }
}

export async function readRegularTextFile(path: string): Promise<string> {
  return (await readRegularFile(path)).toString('utf8');
}

/**
 * Whether anything is at `path` (a file, a folder, a broken link …): something to read or to report,
 * rather than an absent optional file. Only "no such entry" counts as nothing.
 */
export async function somethingAt(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => error.code !== 'ENOENT' && error.code !== 'ENOTDIR',
  );
}

/** Like readRegularTextFile, but undefined when nothing at all is at `path` (an optional file). */
export async function readOptionalTextFile(path: string): Promise<string | undefined> {
  return (await somethingAt(path)) ? readRegularTextFile(path) : undefined;
}
