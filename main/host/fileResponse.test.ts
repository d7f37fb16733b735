/**
 * The file scheme's bytes come from one handle that is proved to be the file the backend checked: a
 * symbolic link swapped onto the path, or onto a folder on it, after the check is never served, and a
 * FIFO never blocks the main process. No Electron needed.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { fileResponse } from './fileResponse.ts';

let root: string;
let checked: string;

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'fusionscope-file-response-')));
  await mkdir(join(root, 'served'));
  await mkdir(join(root, 'outside'));
  checked = join(root, 'served', 'image.png');
  await writeFile(checked, 'served bytes');
  await writeFile(join(root, 'outside', 'image.png'), 'secret bytes');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('fileResponse', () => {
  it('streams the checked file with its headers and length', async () => {
    const response = await fileResponse(checked, { 'content-type': 'image/png' });
    expect(response?.status).toBe(200);
    expect(response?.headers.get('content-type')).toBe('image/png');
    expect(response?.headers.get('content-length')).toBe('12');
    expect(response?.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response?.text()).toBe('served bytes');
  });

  it('serves nothing when a link replaced the file after the check', async () => {
    await rm(checked);
    await symlink(join(root, 'outside', 'image.png'), checked);
    expect(await fileResponse(checked, {})).toBeUndefined();
  });

  it('serves nothing when a folder on the path became a link after the check', async () => {
    await rename(join(root, 'served'), join(root, 'moved'));
    await symlink(join(root, 'outside'), join(root, 'served'));
    expect(await fileResponse(checked, {})).toBeUndefined();
  });

  it('serves nothing for a file gone since the check', async () => {
    await rm(checked);
    expect(await fileResponse(checked, {})).toBeUndefined();
  });

  it.runIf(process.platform !== 'win32')(
    'refuses a FIFO swapped in after the check without blocking',
    async () => {
      await rm(checked);
      execFileSync('mkfifo', [checked]);
      expect(await fileResponse(checked, {})).toBeUndefined();
    },
    10_000,
  );
});
