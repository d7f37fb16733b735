/**
 * A model folder's content hash for provenance: sha256 over every file's path and bytes (weights,
 * configs, tokenizer, templates), so two folders with the same name but different weights are told
 * apart and a copy of the same checkpoint is recognised. Hashing a 7B checkpoint reads ~14 GB once;
 * each file's hash is then kept beside the model cache, keyed by its size, mtime and inode, so later
 * runs re-read only files that changed.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';

import { openRegularFile } from '../files/regularFile.ts';

/** Folders inside a checkpoint worth hashing (InstructBLIP's qformer_tokenizer/); deeper is ignored. */
const MAX_DEPTH = 2;
const CHUNK = 8 * 2 ** 20;

interface FileEntry {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly sha256: string;
}

interface HashCache {
  readonly version: 1;
  readonly files: Record<string, FileEntry>;
}

/** Every regular file under `folder` (links followed, hidden names skipped), as sorted relative paths. */
async function listFiles(folder: string, depth = 0, root = folder): Promise<string[]> {
  const found: string[] = [];
  for (const name of (await readdir(folder)).sort()) {
    if (name.startsWith('.')) continue;
    const path = join(folder, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile()) found.push(relative(root, path));
    else if (info?.isDirectory() && depth < MAX_DEPTH)
      found.push(...(await listFiles(path, depth + 1, root)));
  }
  return found;
}

async function fileSha256(path: string): Promise<string> {
  const { handle } = await openRegularFile(path);
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

async function readCache(file: string): Promise<HashCache> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as HashCache;
    if (parsed?.version === 1 && typeof parsed.files === 'object' && parsed.files !== null) return parsed;
  } catch {
    // Missing or damaged: every file is hashed again.
  }
  return { version: 1, files: {} };
}

/**
 * sha256 over (relative path, size, file sha256) of every file in `folder`; per-file hashes are cached
 * under `cacheRoot` (a failure to write the cache costs only a rehash next time).
 */
export async function modelContentHash(folder: string, cacheRoot: string): Promise<string> {
  const absolute = resolve(folder);
  const cacheFile = join(
    cacheRoot,
    'content-hashes',
    `${createHash('sha256').update(absolute).digest('hex').slice(0, 32)}.json`,
  );
  const cache = await readCache(cacheFile);
  const files: Record<string, FileEntry> = {};
  let rehashed = false;
  const total = createHash('sha256');
  for (const name of await listFiles(absolute)) {
    const path = join(absolute, name);
    const info = await stat(path);
    const known = cache.files[name];
    const fresh =
      known && known.size === info.size && known.mtimeMs === info.mtimeMs && known.ino === info.ino
        ? known
        : { size: info.size, mtimeMs: info.mtimeMs, ino: info.ino, sha256: await fileSha256(path) };
    rehashed ||= fresh !== known;
    files[name] = fresh;
    total.update(`${name}\0${fresh.size}\0${fresh.sha256}\n`);
  }
  if (rehashed || Object.keys(cache.files).length !== Object.keys(files).length) {
    try {
      await mkdir(join(cacheRoot, 'content-hashes'), { recursive: true });
      const temp = `${cacheFile}.${process.pid}.tmp`;
      await writeFile(temp, JSON.stringify({ version: 1, files } satisfies HashCache));
      await rename(temp, cacheFile);
    } catch {
      // A read-only cache: the hash is still right, only recomputed next time.
    }
  }
  return total.digest('hex');
}

/** The hub revision of a Hugging Face cache snapshot folder (…/models--org--name/snapshots/<sha>). */
export function hubRevision(folder: string): string | null {
  return /models--[^/\\]+[/\\]snapshots[/\\]([0-9a-f]{40})[/\\]?$/.exec(resolve(folder))?.[1] ?? null;
}
