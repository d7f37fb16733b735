/**
 * Image paths come from dataset files we do not control, so a name may only point inside the image
 * folder: no absolute paths, no drive letters, no `..` segments (with either separator, on every
 * platform, so a dataset that is refused on Windows is refused everywhere). Where a name leads once
 * symbolic links are followed, and what the file is, `imageCheck.ts` checks.
 */
import { realpath, stat } from 'node:fs/promises';
import { join, normalize, posix, relative, resolve, win32 } from 'node:path';

import { quoted, shownPath } from '../../../native-models/files/messageText.ts';
import { checkImageFile } from './imageCheck.ts';

/** The normalised relative path, or null when `name` could leave the folder it is relative to. */
export function insideRelative(name: string): string | null {
  if (name === '' || name.includes('\0')) return null;
  if (posix.isAbsolute(name) || win32.isAbsolute(name) || /^[a-zA-Z]:/.test(name)) return null;
  if (name.split(/[\\/]/).includes('..')) return null;
  return normalize(name);
}

/** `name` resolved inside `root`, or null when it would escape (also re-checked after joining). */
export function resolveInside(root: string, name: string): string | null {
  const rel = insideRelative(name);
  if (rel === null) return null;
  const full = resolve(root, rel);
  const back = relative(resolve(root), full);
  return back.startsWith('..') || win32.isAbsolute(back) || posix.isAbsolute(back) ? null : full;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export type Located = { path: string } | { reason: string };

/**
 * Finds an item's image among a format's usual folders (e.g. VQAv2 `val2014/`, then `images/`, then
 * the dataset folder itself) and checks it (`imageCheck.ts`). Folders that do not exist are dropped
 * once, and each image name is checked once however many questions share it (VQAv2 asks ~5 per image).
 */
export class ImageLocator {
  private existing: Promise<string[]> | undefined;
  private realRoot: Promise<string> | undefined;
  private readonly checked = new Map<string, Promise<Located>>();

  constructor(
    readonly root: string,
    /** Candidate folders relative to `root`, most specific first; `.` is `root` itself. */
    readonly folders: readonly string[],
    readonly check: boolean,
  ) {}

  private existingFolders(): Promise<string[]> {
    this.existing ??= (async () => {
      const found: string[] = [];
      for (const folder of new Set(this.folders)) {
        const full = resolveInside(this.root, folder);
        if (full !== null && (await isDirectory(full))) found.push(full);
      }
      return found;
    })();
    return this.existing;
  }

  locate(name: string): Promise<Located> {
    let located = this.checked.get(name);
    if (located === undefined) {
      located = this.find(name);
      this.checked.set(name, located);
    }
    return located;
  }

  private async find(name: string): Promise<Located> {
    const rel = insideRelative(name);
    if (rel === null) return { reason: `"image" ${quoted(name)} leaves the dataset folder` };
    const folders = await this.existingFolders();
    if (!this.check) return { path: join(folders[0] ?? this.root, rel) };
    this.realRoot ??= realpath(this.root).catch(() => resolve(this.root));
    const realRoot = await this.realRoot;
    for (const folder of folders) {
      const found = await checkImageFile(join(folder, rel), name, realRoot);
      if (found !== 'absent') return found;
    }
    const looked = this.folders
      .map((f) => (f === '.' ? this.root : join(this.root, f)))
      .map((folder) => shownPath(folder));
    return { reason: `image file ${quoted(name)} not found (looked in ${looked.join(', ')})` };
  }
}
