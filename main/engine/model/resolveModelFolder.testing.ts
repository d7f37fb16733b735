/**
 * A Hugging Face hub cache laid out as huggingface_hub writes it, from model folders on disk:
 *
 *   <cache>/models--org--name/
 *     blobs/<sha256 of the bytes>            each distinct file once
 *     refs/<revision>                        the commit, no newline
 *     snapshots/<commit>/<file> → ../../blobs/<sha256>   (relative symbolic links, as on Linux)
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

export interface FakeSnapshot {
  readonly commit: string;
  readonly folder: string;
}

/** A deterministic 40-hex commit for a revision of a repo (the hub's are git sha1s). */
export function fakeCommit(repoId: string, revision: string): string {
  return createHash('sha1').update(`${repoId}@${revision}`).digest('hex');
}

async function filesUnder(folder: string, root = folder): Promise<string[]> {
  const found: string[] = [];
  for (const name of (await readdir(folder)).sort()) {
    const path = join(folder, name);
    if ((await stat(path)).isDirectory()) found.push(...(await filesUnder(path, root)));
    else found.push(relative(root, path));
  }
  return found;
}

/**
 * Writes `revisions` (revision name → a model folder to copy) into `cacheDir` as one repo; each
 * revision gets its own commit and snapshot. Returns the repo folder and each revision's snapshot.
 */
export async function writeFakeHubRepo(
  cacheDir: string,
  repoId: string,
  revisions: Readonly<Record<string, string>>,
): Promise<{ repoFolder: string; snapshots: Record<string, FakeSnapshot> }> {
  const repoFolder = join(cacheDir, `models--${repoId.replace('/', '--')}`);
  await mkdir(join(repoFolder, 'blobs'), { recursive: true });
  await mkdir(join(repoFolder, 'refs'), { recursive: true });
  const snapshots: Record<string, FakeSnapshot> = {};
  for (const [revision, source] of Object.entries(revisions)) {
    const commit = fakeCommit(repoId, revision);
    const folder = join(repoFolder, 'snapshots', commit);
    for (const file of await filesUnder(source)) {
      const bytes = await readFile(join(source, file));
      const blob = join(repoFolder, 'blobs', createHash('sha256').update(bytes).digest('hex'));
      await writeFile(blob, bytes);
      const link = join(folder, file);
      await mkdir(dirname(link), { recursive: true });
      await symlink(relative(dirname(link), blob), link);
    }
    await mkdir(dirname(join(repoFolder, 'refs', revision)), { recursive: true });
    await writeFile(join(repoFolder, 'refs', revision), commit);
    snapshots[revision] = { commit, folder };
  }
  return { repoFolder, snapshots };
}
