import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_MODEL_DIR } from '../demo.ts';
import { readModelSpec } from './readModelSpec.ts';

describe('readModelSpec', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fusionscope-spec-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("parses a model folder's config.json with its architecture, weights unread", async () => {
    const spec = await readModelSpec(DEMO_MODEL_DIR);
    expect(spec.modelType).toBe('llava');
    expect(spec.decoder.layers).toBeGreaterThan(0);
  });

  it('names an unsupported model_type and the file it came from', async () => {
    await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2' }));
    await expect(readModelSpec(dir)).rejects.toMatchObject({
      code: 'UNSUPPORTED_MODEL',
      message: expect.stringContaining('config.json: model_type "gpt2" is not supported'),
    });
  });

  it('refuses a folder without config.json as a missing file', async () => {
    const empty = await mkdtemp(join(dir, 'empty-'));
    await expect(readModelSpec(empty)).rejects.toMatchObject({ code: 'MISSING_FILE' });
  });
});
