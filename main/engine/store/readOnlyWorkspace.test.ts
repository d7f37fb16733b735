/**
 * `fusionscope runs` lists a workspace the user may not write (a shared or read-only folder) from a
 * read-only connection, and leaves no file behind in it. The CLI runs as another process under an
 * unprivileged user: root would be allowed to write anyway.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { newRun } from './testing.ts';
import { Workspace } from './workspace.ts';

const NOBODY = 65534;
const runAsRoot = process.getuid?.() === 0;
const posix = process.platform !== 'win32';
const CLI = join(import.meta.dirname, '..', '..', '..', 'bin', 'fusionscope.mjs');
/**
 * As root the CLI runs as nobody, who must be able to read this checkout: a clone inside a private
 * folder (mktemp -d is 0700) cannot be, and there the test cannot run as intended.
 */
const nobodyReadsCheckout =
  !runAsRoot ||
  spawnSync(process.execPath, ['-e', `require('node:fs').accessSync(${JSON.stringify(CLI)})`], {
    uid: NOBODY,
    gid: NOBODY,
  }).status === 0;

let root: string;
let workspaceDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-readonly-'));
  workspaceDir = join(root, 'workspace');
  const workspace = Workspace.open(workspaceDir);
  workspace.createRun(newRun());
  workspace.close();
  await chmod(root, 0o755);
  await chmod(join(workspaceDir, 'fusionscope.sqlite'), 0o444);
  await chmod(workspaceDir, 0o555);
});

afterAll(async () => {
  await chmod(workspaceDir, 0o755).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

async function listRuns(dir = workspaceDir): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [CLI, 'runs', '--workspace', dir],
      { cwd: root, ...(runAsRoot ? { uid: NOBODY, gid: NOBODY } : {}), env: { ...process.env, HOME: root } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe.runIf(posix && nobodyReadsCheckout)('fusionscope runs in a read-only workspace', () => {
  it('lists the runs and writes nothing there', async () => {
    const before = (await readdir(workspaceDir)).sort();
    const { code, stdout, stderr } = await listRuns();
    expect(stderr).not.toMatch(/error/);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {3}1 {2}evolve {3}running {5}0\/3 {2}\/models\/m {2}d$/m);
    expect((await readdir(workspaceDir)).sort()).toEqual(before);
  });

  it('lists a workspace whose folder is writable but whose database file is not', async () => {
    const other = join(root, 'file-only');
    const workspace = Workspace.open(other);
    workspace.createRun(newRun({ kind: 'sweep' }));
    workspace.close();
    await chmod(join(other, 'fusionscope.sqlite'), 0o444);
    await chmod(other, 0o777);
    const { code, stdout } = await listRuns(other);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {3}1 {2}sweep {4}running/m);
  });
});
