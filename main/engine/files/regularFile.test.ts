/**
 * The engine's file readers fail as FusionError, and every engine entry that reads a path the user
 * names refuses a FIFO at once instead of waiting for a writer (the image of `fusionscope answer
 * --image`, a dataset's images, a model folder's JSON files).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FusionError } from '../../common/errors.ts';
import { loadImage } from '../image/load.ts';
import { loadPreprocessorConfig } from '../image/preprocess.ts';
import { Tokenizer } from '../tokenizer/index.ts';
import { readJsonFile, readOptionalJsonFile } from './jsonFile.ts';
import { readRegularTextFile } from './regularFile.ts';

const posix = process.platform !== 'win32';
const QUICK_MS = 10_000;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusionscope-engine-files-'));
  await mkdir(join(dir, 'fifos'));
  if (posix) {
    for (const name of ['image.png', 'tokenizer.json', 'preprocessor_config.json', 'config.json']) {
      execFileSync('mkfifo', [join(dir, 'fifos', name)]);
    }
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function caught(work: Promise<unknown>): Promise<FusionError> {
  const error = await work.then(
    () => new Error('succeeded'),
    (e: unknown) => e,
  );
  if (!(error instanceof FusionError)) throw error;
  return error;
}

describe('engine file readers', () => {
  it('fail as FusionError with the code and message of the check', async () => {
    const error = await caught(readRegularTextFile(join(dir, 'fifos')));
    expect(error).toMatchObject({
      code: 'MISSING_FILE',
      message: `${join(dir, 'fifos')} is a directory, not a file`,
    });
  });

  it('locate a JSON error without quoting the file, under the caller’s code', async () => {
    const path = join(dir, 'tokenizer.json');
    await writeFile(path, '{\n  "model": secret\n}');
    expect(await caught(readJsonFile(path, 'BAD_TOKENIZER'))).toMatchObject({
      code: 'BAD_TOKENIZER',
      message: `${path}: not valid JSON (at line 2, column 12)`,
    });
    expect(await readOptionalJsonFile(join(dir, 'absent.json'))).toBeUndefined();
  });

  it.runIf(posix)(
    'refuse a FIFO everywhere a user-named path is read, without blocking',
    async () => {
      const fifos = join(dir, 'fifos');
      const isFifo = (name: string) => ({
        code: 'MISSING_FILE',
        message: `${join(fifos, name)} is a FIFO (named pipe), not a regular file; refusing to read it`,
      });
      expect(await caught(loadImage(join(fifos, 'image.png')))).toMatchObject(isFifo('image.png'));
      expect(await caught(Tokenizer.fromFolder(fifos))).toMatchObject(isFifo('tokenizer.json'));
      expect(await caught(loadPreprocessorConfig(fifos))).toMatchObject(isFifo('preprocessor_config.json'));
      expect(await caught(readOptionalJsonFile(join(fifos, 'config.json')))).toMatchObject(
        isFifo('config.json'),
      );
    },
    QUICK_MS,
  );
});
