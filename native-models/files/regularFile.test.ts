/**
 * Only regular files are read, and nothing blocks: each kind of non-file is refused quickly with a
 * message that names the path and says what is there. The FIFO tests would hang (and time out) if
 * anything opened the FIFO the ordinary, blocking way.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelFormatError } from '../errors.ts';
import {
  openRegularFile,
  openResolvedRegularFile,
  readOptionalTextFile,
  readRegularTextFile,
  somethingAt,
} from './regularFile.ts';

const posix = process.platform !== 'win32';
/** A refusal must come at once; a blocking open would hang until this fails the test. */
const QUICK_MS = 10_000;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusionscope-regular-file-'));
  await writeFile(join(dir, 'config.json'), '{"a": 1}');
  await symlink(join(dir, 'config.json'), join(dir, 'linked.json'));
  await mkdir(join(dir, 'folder.json'));
  await symlink(join(dir, 'loop-b'), join(dir, 'loop-a'));
  await symlink(join(dir, 'loop-a'), join(dir, 'loop-b'));
  await symlink(join(dir, 'gone'), join(dir, 'broken.json'));
  if (posix) execFileSync('mkfifo', [join(dir, 'fifo.json')]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusal(work: Promise<unknown>): Promise<ModelFormatError> {
  const error = await work.then(
    () => new Error('the read succeeded'),
    (e: unknown) => e,
  );
  if (!(error instanceof ModelFormatError)) throw error;
  return error;
}

describe('openRegularFile and readRegularTextFile', () => {
  it('read a regular file, and a symbolic link to one (the Hugging Face cache is made of them)', async () => {
    expect(await readRegularTextFile(join(dir, 'config.json'))).toBe('{"a": 1}');
    expect(await readRegularTextFile(join(dir, 'linked.json'))).toBe('{"a": 1}');
    const { handle, stats } = await openRegularFile(join(dir, 'config.json'));
    expect(stats.size).toBe(8);
    await handle.close();
  });

  it.runIf(posix)(
    'refuse a FIFO without blocking',
    async () => {
      const fifo = join(dir, 'fifo.json');
      for (const read of [openRegularFile, readRegularTextFile, readOptionalTextFile]) {
        const error = await refusal(read(fifo));
        expect(error.code).toBe('MISSING_FILE');
        expect(error.message).toBe(`${fifo} is a FIFO (named pipe), not a regular file; refusing to read it`);
      }
    },
    QUICK_MS,
  );

  it('say what is there instead of "missing": a folder, a symlink loop, a broken link', async () => {
    const cases: Array<[string, string]> = [
      ['folder.json', 'is a directory, not a file'],
      ['loop-a', 'is a symlink loop (or a symbolic link where none is allowed)'],
      ['broken.json', 'is a broken symbolic link (its target is missing)'],
      ['absent.json', 'is missing'],
    ];
    for (const [name, what] of cases) {
      const error = await refusal(readRegularTextFile(join(dir, name)));
      expect(error).toMatchObject({ code: 'MISSING_FILE', message: `${join(dir, name)} ${what}` });
    }
  });

  it.runIf(posix)('refuse devices and sockets', async () => {
    expect((await refusal(readRegularTextFile('/dev/null'))).message).toBe(
      '/dev/null is a character device, not a regular file',
    );
    const socketPath = join(dir, 'socket.json');
    const server: Server = createServer();
    await new Promise<void>((done) => server.listen(socketPath, done));
    try {
      expect((await refusal(readRegularTextFile(socketPath))).message).toBe(
        `${socketPath} is a socket, not a regular file`,
      );
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  it('escape control characters of a path in the message', async () => {
    const error = await refusal(readRegularTextFile(join(dir, 'evil\u001b[2J\rname.json')));
    expect(error.message).toBe(`${join(dir, 'evil\\u001b[2J\\rname.json')} is missing`);
  });
});

describe('readOptionalTextFile and somethingAt', () => {
  it('treat only "nothing there" as absent', async () => {
    expect(await readOptionalTextFile(join(dir, 'absent.json'))).toBeUndefined();
    expect(await readOptionalTextFile(join(dir, 'config.json', 'below'))).toBeUndefined();
    expect(await somethingAt(join(dir, 'absent.json'))).toBe(false);
    for (const name of ['folder.json', 'loop-a', 'broken.json']) {
      expect(await somethingAt(join(dir, name))).toBe(true);
      await expect(readOptionalTextFile(join(dir, name))).rejects.toMatchObject({ code: 'MISSING_FILE' });
    }
  });
});

describe('openResolvedRegularFile (a path already resolved and checked by the caller)', () => {
  it('opens the file the path names', async () => {
    const { handle } = await openResolvedRegularFile(join(dir, 'config.json'));
    expect(await handle.readFile('utf8')).toBe('{"a": 1}');
    await handle.close();
  });

  it('refuses a symbolic link swapped in for the file', async () => {
    const error = await refusal(openResolvedRegularFile(join(dir, 'linked.json')));
    expect(error.message).toMatch(
      /linked\.json is a symlink loop \(or a symbolic link where none is allowed\)/,
    );
  });

  it('refuses a folder on the path swapped for a link after the check', async () => {
    const root = join(dir, 'swap');
    await mkdir(join(root, 'served'), { recursive: true });
    await mkdir(join(root, 'outside'));
    await writeFile(join(root, 'served', 'image.png'), 'served');
    await writeFile(join(root, 'outside', 'image.png'), 'secret');
    const checked = join(root, 'served', 'image.png');
    // What an attacker does between the caller's realpath check and the open.
    await rename(join(root, 'served'), join(root, 'old'));
    await symlink(join(root, 'outside'), join(root, 'served'));
    const error = await refusal(openResolvedRegularFile(checked));
    expect(error.message).toBe(
      `${checked} changed while it was being opened (a symbolic link was swapped in)`,
    );
  });

  it.runIf(posix)(
    'refuses a FIFO from the opened handle alone, without blocking (no stat before the open)',
    async () => {
      const error = await refusal(openResolvedRegularFile(join(dir, 'fifo.json')));
      expect(error.message).toMatch(/fifo\.json is a FIFO/);
    },
    QUICK_MS,
  );
});
