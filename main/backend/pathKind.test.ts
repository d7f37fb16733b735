import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_DATASET_DIR, DEMO_MODEL_DIR } from '../engine/demo.ts';
import { inspectPath } from './pathKind.ts';

const DEMO_IMAGE = join(DEMO_DATASET_DIR, 'images', 'test-000001.png');
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'fusionscope-pathkind-'));
});

afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('inspectPath', () => {
  it('finds a model by its config.json: the folder, a project folder with model/, or the file', async () => {
    expect(await inspectPath(DEMO_MODEL_DIR)).toEqual({
      kind: 'model',
      path: DEMO_MODEL_DIR,
      name: 'model',
      why: 'config.json',
    });
    expect(await inspectPath(dirname(DEMO_MODEL_DIR))).toEqual({
      kind: 'model',
      path: DEMO_MODEL_DIR,
      name: 'demo',
      why: join('model', 'config.json'),
    });
    expect(await inspectPath(join(DEMO_MODEL_DIR, 'config.json'))).toMatchObject({
      kind: 'model',
      path: DEMO_MODEL_DIR,
    });
  });

  it('calls a folder of weights without config.json, or a hub cache entry, a model (opening it says what is missing)', async () => {
    const weightsOnly = join(scratch, 'llava-v1.5-7b');
    await mkdir(weightsOnly);
    await writeFile(join(weightsOnly, 'pytorch_model-00001-of-00002.bin'), '');
    expect(await inspectPath(weightsOnly)).toMatchObject({
      kind: 'model',
      path: weightsOnly,
      why: 'pytorch_model-00001-of-00002.bin',
    });
    const hub = join(scratch, 'models--llava-hf--llava-1.5-7b-hf');
    await mkdir(hub);
    expect(await inspectPath(hub)).toMatchObject({ kind: 'model', why: 'a Hugging Face cache folder' });
    const gguf = join(scratch, 'llava.Q4_K_M.gguf');
    await writeFile(gguf, 'GGUF');
    expect(await inspectPath(gguf)).toMatchObject({ kind: 'model', path: gguf });
  });

  it('finds an image by its bytes, whatever its name says', async () => {
    expect(await inspectPath(DEMO_IMAGE)).toEqual({
      kind: 'image',
      path: DEMO_IMAGE,
      name: 'test-000001.png',
      why: 'PNG image',
    });
    const disguised = join(scratch, 'photo.jsonl');
    await copyFile(DEMO_IMAGE, disguised);
    expect(await inspectPath(disguised)).toMatchObject({ kind: 'image', why: 'PNG image' });
    const fake = join(scratch, 'fake.png');
    await writeFile(fake, '{"question": "not an image"}\n');
    expect(await inspectPath(fake)).toMatchObject({ kind: 'dataset', path: fake });
  });

  it('hands any other file or folder to the dataset import, which judges it', async () => {
    expect(await inspectPath(DEMO_DATASET_DIR)).toEqual({
      kind: 'dataset',
      path: DEMO_DATASET_DIR,
      name: 'test',
      why: 'a folder that is no model',
    });
    const items = join(DEMO_DATASET_DIR, 'items.jsonl');
    expect(await inspectPath(items)).toMatchObject({ kind: 'dataset', path: items, name: 'items.jsonl' });
    const empty = join(scratch, 'empty.tsv');
    await writeFile(empty, '');
    expect(await inspectPath(empty)).toMatchObject({ kind: 'dataset' });
  });

  it('refuses a relative path, a missing one and a pipe, saying which', async () => {
    await expect(inspectPath('models/llava')).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringMatching(/must be absolute/),
    });
    await expect(inspectPath(join(scratch, 'gone'))).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: expect.stringMatching(/gone: no such file or folder$/),
    });
    if (process.platform === 'win32') return;
    const fifo = join(scratch, 'pipe');
    execFileSync('mkfifo', [fifo]);
    // A FIFO must be refused without opening it (an open would block until a writer comes).
    await expect(inspectPath(fifo)).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringMatching(/not a file or folder/),
    });
  });
});
