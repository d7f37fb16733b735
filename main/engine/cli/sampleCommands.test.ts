/**
 * `fusionscope trace --json` refuses an output it could not write before opening the model: each case
 * names a model folder that does not exist, so a check made only after the model work would report
 * that folder instead.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { traceCommand } from './sampleCommands.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusionscope-trace-out-'));
  await mkdir(join(dir, 'taken.json'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const trace = (json: string) =>
  traceCommand({
    model: join(dir, 'no-model-here'),
    image: join(dir, 'no-image.png'),
    question: 'what color',
    json,
  });

describe('trace --json is checked before the model is opened', () => {
  it('a missing folder', async () => {
    const folder = join(dir, 'missing');
    await expect(trace(join(folder, 'trace.json'))).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: `--json: the folder ${folder} does not exist`,
    });
  });

  it('a folder where the file should go', async () => {
    await expect(trace(join(dir, 'taken.json'))).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: `--json: ${join(dir, 'taken.json')} is a folder; give a file name`,
    });
  });

  it('a writable folder passes on to opening the model', async () => {
    await expect(trace(join(dir, 'trace.json'))).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: expect.stringContaining('no-model-here'),
    });
  });
});
