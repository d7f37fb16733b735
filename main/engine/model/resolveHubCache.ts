/**
 * The local Hugging Face hub cache, read as huggingface_hub reads it, offline (nothing is downloaded):
 *
 *   cache folder  HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE (legacy), else $HF_HOME/hub, where HF_HOME
 *                 defaults to $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface
 *                 (huggingface_hub/constants.py; each value ~-expanded, then $VAR-expanded)
 *   a repo        <cache>/models--<org>--<name>   (file_download.repo_folder_name)
 *   a revision    a full 40-hex commit names snapshots/<commit> directly; a branch or tag is read from
 *                 refs/<revision>, a file holding the commit (snapshot_download's offline branch)
 *   a snapshot    snapshots/<commit>/, whose files link to ../../blobs/<hash>
 *
 * Every lookup records what it looked at and why that failed, so the caller's error can list them all.
 */
import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';

import { quoted, shownPath } from '../../../native-models/files/messageText.ts';
import type { HubSnapshot } from '../../common/api/types.ts';
import { FusionError } from '../../common/errors.ts';
import { readRegularTextFile } from '../files/regularFile.ts';
import { hubRevision } from './contentHash.ts';

export type { HubSnapshot };

export type Env = Readonly<Record<string, string | undefined>>;

/** huggingface_hub's DEFAULT_REVISION. */
export const DEFAULT_REVISION = 'main';

/** huggingface_hub's REGEX_COMMIT_HASH: only a full lowercase sha names a snapshot directly. */
const COMMIT = /^[0-9a-f]{40}$/;
/** A revision is a ref path (a branch, a tag, refs/pr/1) or a commit; never a way out of refs/. */
const MAX_REVISION_CHARS = 256;

/** One place a lookup tried, and why it did not hold the model. */
export interface Attempt {
  readonly place: string;
  readonly why: string;
}

export interface HubCacheDir {
  readonly dir: string;
  /** Which setting chose it, for messages: "HF_HUB_CACHE", "HF_HOME", … or "the default". */
  readonly from: string;
}

/** Python's os.path.expanduser for `~` and `~/…` (`~user` is left as written). */
function expandUser(path: string, home: string): string {
  return path === '~' || path.startsWith('~/') || path.startsWith(`~${sep}`) ? home + path.slice(1) : path;
}

/** Python's posixpath.expandvars: `$NAME` and `${NAME}` replaced when set, left as written when not. */
function expandVars(path: string, env: Env): string {
  return path.replace(/\$(\w+|\{[^}]*\})/g, (whole, name: string) => {
    const value = env[name.startsWith('{') ? name.slice(1, -1) : name];
    return value === undefined ? whole : value;
  });
}

/** The home folder Python's expanduser uses: $HOME on POSIX, %USERPROFILE% on Windows. */
function homeOf(env: Env): string {
  return (process.platform === 'win32' ? env.USERPROFILE : env.HOME) ?? homedir();
}

/**
 * Where huggingface_hub keeps repositories, from `env` as constants.py reads it. A variable that is set
 * but empty counts as set, as os.getenv does.
 */
export function hubCacheDir(env: Env = process.env, cwd = process.cwd()): HubCacheDir {
  const home = homeOf(env);
  const expand = (path: string) => resolve(cwd, expandVars(expandUser(path, home), env));
  const hfHomeFrom =
    env.HF_HOME !== undefined ? 'HF_HOME' : env.XDG_CACHE_HOME !== undefined ? 'XDG_CACHE_HOME' : null;
  const hfHome = expand(env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(home, '.cache'), 'huggingface'));
  if (env.HF_HUB_CACHE !== undefined) return { dir: expand(env.HF_HUB_CACHE), from: 'HF_HUB_CACHE' };
  if (env.HUGGINGFACE_HUB_CACHE !== undefined)
    return { dir: expand(env.HUGGINGFACE_HUB_CACHE), from: 'HUGGINGFACE_HUB_CACHE' };
  return {
    dir: join(hfHome, 'hub'),
    from: hfHomeFrom ?? 'the default (HF_HUB_CACHE, HF_HOME and XDG_CACHE_HOME are unset)',
  };
}

/**
 * Whether `text` is a model repo id as the hub accepts them (huggingface_hub's validate_repo_id):
 * `name` or `org/name`, letters, digits, `-`, `_` and `.`, no `--` or `..`, at most 96 characters.
 */
export function isRepoId(text: string): boolean {
  return (
    text.length <= 96 &&
    /^(?:[\w.-]+\/)?[\w.-]+$/.test(text) &&
    !/^[.-]|[.-]$|[/][.-]|[.-][/]/.test(text) &&
    !text.includes('--') &&
    !text.includes('..') &&
    !text.endsWith('.git')
  );
}

/** file_download.repo_folder_name for a model repo: `org/name` → `models--org--name`. */
export function repoFolderName(repoId: string): string {
  return `models--${repoId.split('/').join('--')}`;
}

/** The repo id a cache folder is named after (`models--org--name` → `org/name`); null for other names. */
export function repoIdOfFolder(name: string): string | null {
  const [kind, ...parts] = name.split('--');
  const repoId = parts.join('/');
  return kind === 'models' && parts.length > 0 && isRepoId(repoId) ? repoId : null;
}

/** A cache repo folder's snapshot when `folder` is one (…/models--org--name/snapshots/<commit>). */
export function snapshotOf(folder: string): { repoFolder: string; repoId: string; commit: string } | null {
  const commit = hubRevision(folder);
  if (commit === null) return null;
  const repoFolder = resolve(folder, '..', '..');
  const repoId = repoIdOfFolder(repoFolder.split(sep).pop() ?? '');
  return repoId === null ? null : { repoFolder, repoId, commit };
}

async function statOrNull(path: string): Promise<Stats | null> {
  return stat(path).catch(() => null);
}

/** Every ref file under `refs/` as a revision name (`main`, `v1`, `refs/pr/1`). */
async function refNames(repoFolder: string): Promise<string[]> {
  const names: string[] = [];
  const walk = async (dir: string, prefix: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isFile()) names.push(`${prefix}${entry.name}`);
      else if (entry.isDirectory() && depth < 4)
        await walk(join(dir, entry.name), `${prefix}${entry.name}/`, depth + 1);
    }
  };
  await walk(join(repoFolder, 'refs'), '', 0);
  return names;
}

async function snapshotNames(repoFolder: string): Promise<string[]> {
  const names = await readdir(join(repoFolder, 'snapshots')).catch(() => [] as string[]);
  return names.filter((name) => COMMIT.test(name)).sort();
}

function checkRevision(revision: string): void {
  const parts = revision.split('/');
  if (
    revision.length === 0 ||
    revision.length > MAX_REVISION_CHARS ||
    isAbsolute(revision) ||
    revision.includes('\\') ||
    revision.includes('\0') ||
    parts.some((part) => part === '' || part === '.' || part === '..')
  ) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `revision ${quoted(revision)} is not a branch, a tag or a commit (expected e.g. main, v1.0 or a 40-digit commit hash)`,
    );
  }
}

/** The commit a ref file names; an Attempt when the file is missing or holds no commit. */
async function commitOfRef(repoFolder: string, revision: string): Promise<string | Attempt> {
  const refPath = join(repoFolder, 'refs', ...revision.split('/'));
  let text: string;
  try {
    text = await readRegularTextFile(refPath);
  } catch (error) {
    const refs = await refNames(repoFolder);
    const known = refs.length > 0 ? `revisions cached: ${refs.join(', ')}` : 'no refs are cached';
    const missing = (await statOrNull(refPath)) === null;
    return {
      place: shownPath(refPath),
      why: missing ? `no such ref (${known})` : (error as Error).message,
    };
  }
  // huggingface_hub writes the bare sha; a trailing newline from a hand edit is forgiven.
  const commit = text.trim();
  if (!COMMIT.test(commit)) {
    return { place: shownPath(refPath), why: `holds ${quoted(commit)}, not a 40-digit commit hash` };
  }
  return commit;
}

/** What a repo folder's revision names: its snapshot, or why it has none (added to `attempts`). */
export async function resolveRevision(
  repoFolder: string,
  repoId: string,
  revision: string,
  attempts: Attempt[],
): Promise<{ folder: string; hub: HubSnapshot } | null> {
  checkRevision(revision);
  const commit = COMMIT.test(revision) ? revision : await commitOfRef(repoFolder, revision);
  if (typeof commit !== 'string') {
    attempts.push(commit);
    if (/^[0-9a-f]{5,39}$/.test(revision)) {
      const matches = (await snapshotNames(repoFolder)).filter((name) => name.startsWith(revision));
      if (matches.length > 0)
        attempts.push({
          place: shownPath(join(repoFolder, 'snapshots')),
          why: `a commit must be given in full (40 hex digits): ${matches.join(', ')}`,
        });
    }
    return null;
  }
  const folder = join(repoFolder, 'snapshots', commit);
  if (!(await statOrNull(folder))?.isDirectory()) {
    const cached = await snapshotNames(repoFolder);
    attempts.push({
      place: shownPath(folder),
      why:
        `no snapshot of commit ${commit}` +
        (revision === commit ? '' : ` (which refs/${revision} names)`) +
        (cached.length > 0 ? `; snapshots cached: ${cached.join(', ')}` : '; no snapshots are cached'),
    });
    return null;
  }
  return { folder, hub: { repoId, revision, commit } };
}

/**
 * The revision to record for a snapshot folder named directly: the asked revision when it names this
 * commit (checked: refs/main may have moved on), else `main` or another ref naming it, else the commit.
 */
export async function revisionOfSnapshot(
  snapshot: { repoFolder: string; repoId: string; commit: string },
  asked: string | undefined,
): Promise<string> {
  const { repoFolder, commit } = snapshot;
  if (asked !== undefined) {
    checkRevision(asked);
    const named = COMMIT.test(asked) ? asked : await commitOfRef(repoFolder, asked);
    if (named !== commit) {
      const why = typeof named === 'string' ? `names commit ${named}` : `${named.place}: ${named.why}`;
      throw new FusionError(
        'BAD_ARGUMENT',
        `revision ${quoted(asked)} is not the snapshot ${shownPath(join(repoFolder, 'snapshots', commit))} (it ${why}); name the repo folder or the hub id instead of the snapshot to pick a revision`,
      );
    }
    return asked;
  }
  const refs = await refNames(repoFolder);
  for (const ref of [DEFAULT_REVISION, ...refs.filter((r) => r !== DEFAULT_REVISION)]) {
    if (!refs.includes(ref)) continue;
    if ((await commitOfRef(repoFolder, ref)) === commit) return ref;
  }
  return commit;
}
