/**
 * Bad model folders: each problem gives a FusionError/ModelFormatError with a code and a message that
 * names the file or field, never a crash.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, symlink, truncate, unlink, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { readSafetensorsHeader } from '../../../native-models/safetensors/read.ts';
import { writeSafetensors } from '../../../native-models/safetensors/write.ts';
import { lcgImage } from '../../../native-models/testing/random.ts';
import { writeTinyInstructBlip } from '../../../native-models/testing/tinyInstructBlip.ts';
import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import { prepareSample } from '../inference/forward.ts';
import { generate } from '../inference/generate.ts';
import { openModel } from './openModel.ts';

const posix = process.platform !== 'win32';
/** Refusals come before any graph is built; a blocked open would hang until this fails the test. */
const QUICK_MS = 20_000;

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusionscope-badmodel-'));
  await writeTinyLlava(dir, { seed: 11, dtype: 'F32', layout: 'legacy' });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function editJson(file: string, edit: (json: Record<string, unknown>) => void): Promise<void> {
  const path = join(dir, file);
  const json = JSON.parse(await readFile(path, 'utf8'));
  edit(json);
  await writeFile(path, JSON.stringify(json));
}

/** Rewrites model.safetensors through `edit`, which may drop, rename or reshape tensors. */
async function editWeights(
  edit: (tensors: Array<{ name: string; dtype: 'F32'; shape: number[]; data: Float32Array }>) => void,
): Promise<void> {
  const file = join(dir, 'model.safetensors');
  const header = await readSafetensorsHeader(file);
  const bytes = await readFile(file);
  const tensors = [...header.values()].map((e) => ({
    name: e.name,
    dtype: 'F32' as const,
    shape: [...e.shape],
    data: new Float32Array(
      bytes.buffer.slice(bytes.byteOffset + e.byteOffset, bytes.byteOffset + e.byteOffset + e.byteLength),
    ),
  }));
  edit(tensors);
  await writeSafetensors(file, tensors);
}

describe('openModel rejects bad folders clearly', () => {
  it('loads the untouched fixture (control)', async () => {
    const model = await openModel(dir, { provider: 'cpu' });
    expect(model.info().executionProvider).toBe('cpu');
    await model.close();
  });

  it('truncated safetensors → BAD_WEIGHTS naming the file', async () => {
    await truncate(join(dir, 'model.safetensors'), 100);
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toMatchObject({
      code: 'BAD_WEIGHTS',
      message: expect.stringMatching(/model\.safetensors.*(past the end|data section)/),
    });
  });

  it('missing and misshaped tensors are listed together in one error', async () => {
    await editWeights((tensors) => {
      const drop = tensors.findIndex((t) => t.name === 'language_model.model.layers.1.mlp.up_proj.weight');
      tensors.splice(drop, 1);
      const norm = tensors.find((t) => t.name === 'language_model.model.norm.weight');
      if (!norm) throw new Error('fixture lacks the final norm');
      norm.shape = [norm.shape[0] / 2, 2];
    });
    const error = (await openModel(dir, { provider: 'cpu' }).then(
      () => new Error('opened'),
      (e: unknown) => e as Error,
    )) as Error;
    expect(error).toMatchObject({ code: 'BAD_WEIGHTS' });
    expect(error.message).toMatch(/missing tensor "language_model\.model\.layers\.1\.mlp\.up_proj\.weight"/);
    expect(error.message).toMatch(
      /"language_model\.model\.norm\.weight" has shape \[32, 2\], expected \[64\]/,
    );
  });

  it('an unexpected tensor is reported as unused', async () => {
    await editWeights((tensors) =>
      tensors.push({
        name: 'language_model.model.extra.weight',
        dtype: 'F32',
        shape: [2],
        data: new Float32Array(2),
      }),
    );
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toThrow(
      /unexpected tensor "language_model\.model\.extra\.weight"/,
    );
  });

  it('unsupported model_type → UNSUPPORTED_MODEL listing the supported ones', async () => {
    await editJson('config.json', (c) => (c.model_type = 'blip-2'));
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toMatchObject({
      code: 'UNSUPPORTED_MODEL',
      message: expect.stringMatching(/"blip-2".*supported: llava/),
    });
  });

  it('a wrong config field → BAD_CONFIG naming the field and value', async () => {
    await editJson(
      'config.json',
      (c) => ((c.text_config as Record<string, unknown>).num_key_value_heads = 3),
    );
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toMatchObject({
      code: 'BAD_CONFIG',
      message: expect.stringMatching(
        /text_config\.num_key_value_heads must be a divisor of num_attention_heads \(4\), got 3/,
      ),
    });
  });

  it('config.json that is not JSON → BAD_CONFIG locating the error, quoting none of the file', async () => {
    await writeFile(join(dir, 'config.json'), '{ "model_type": ');
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toMatchObject({
      code: 'BAD_CONFIG',
      message: `${join(dir, 'config.json')}: not valid JSON (it ends early)`,
    });
    await writeFile(join(dir, 'config.json'), 'password=hunter2\n');
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toMatchObject({
      message: `${join(dir, 'config.json')}: not valid JSON (at line 1, column 1)`,
    });
  });

  it('missing tokenizer.json → MISSING_FILE naming it', async () => {
    await unlink(join(dir, 'tokenizer.json'));
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: expect.stringMatching(/tokenizer\.json/),
    });
  });

  it('image token id disagreeing between config and tokenizer → BAD_CONFIG', async () => {
    await editJson('config.json', (c) => (c.image_token_index = 5));
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toThrow(
      /image token id is 5.*tokenizer\.json maps "<image>"/,
    );
  });

  it('missing weights → MISSING_FILE', async () => {
    await unlink(join(dir, 'model.safetensors'));
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toMatchObject({ code: 'MISSING_FILE' });
  });
});

describe('openModel guards against hostile configs', () => {
  it('an absurd layer count is rejected by field before any graph is built', async () => {
    await editJson(
      'config.json',
      (c) => ((c.text_config as Record<string, unknown>).num_hidden_layers = 1e9),
    );
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toMatchObject({
      code: 'BAD_CONFIG',
      message: expect.stringMatching(
        /text_config\.num_hidden_layers must be an integer in \[1, 1024\], got 1000000000/,
      ),
    });
  });

  it('a config claiming many more layers than the weights have lists a bounded number of problems', async () => {
    await editJson(
      'config.json',
      (c) => ((c.text_config as Record<string, unknown>).num_hidden_layers = 200),
    );
    const error = (await openModel(dir, { provider: 'cpu' }).then(
      () => new Error('opened'),
      (e: unknown) => e as Error,
    )) as Error;
    expect(error.message).toMatch(/weight problem\(s\):/);
    expect(error.message).toMatch(/… and \d+ more$/);
    expect(error.message.split('\n').length).toBeLessThan(45);
  });
});

describe('openModel refuses what is not a regular file, saying what it is', () => {
  it.runIf(posix)(
    'a FIFO at any file the folder is read from is refused, never waited on',
    async () => {
      const files = [
        'config.json',
        'tokenizer.json',
        'tokenizer_config.json',
        'generation_config.json',
        'preprocessor_config.json',
        'model.safetensors',
      ];
      for (const file of files) {
        const path = join(dir, file);
        const kept = await readFile(path);
        await unlink(path);
        execFileSync('mkfifo', [path]);
        await expect(openModel(dir, { provider: 'cpu' })).rejects.toMatchObject({
          code: 'MISSING_FILE',
          message: `${path} is a FIFO (named pipe), not a regular file; refusing to read it`,
        });
        await unlink(path);
        await writeFile(path, kept);
      }
    },
    QUICK_MS,
  );

  it.runIf(posix)(
    'a FIFO shard or index of a sharded checkpoint is refused',
    async () => {
      const shard = 'model-00001-of-00001.safetensors';
      const index = join(dir, 'model.safetensors.index.json');
      const header = await readSafetensorsHeader(join(dir, 'model.safetensors'));
      const weightMap = Object.fromEntries([...header.keys()].map((name) => [name, shard]));
      await writeFile(index, JSON.stringify({ weight_map: weightMap }));
      execFileSync('mkfifo', [join(dir, shard)]);
      await expect(openModel(dir, { provider: 'cpu' })).rejects.toThrow(`${join(dir, shard)} is a FIFO`);
      await unlink(index);
      execFileSync('mkfifo', [index]);
      await expect(openModel(dir, { provider: 'cpu' })).rejects.toThrow(`${index} is a FIFO`);
    },
    QUICK_MS,
  );

  it('a directory where model.safetensors belongs is named, not a bare EISDIR', async () => {
    await unlink(join(dir, 'model.safetensors'));
    await mkdir(join(dir, 'model.safetensors'));
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: `${join(dir, 'model.safetensors')} is a directory, not a file`,
    });
  });

  it('a symlink loop or a directory at config.json is said to be one, not "missing"', async () => {
    const config = join(dir, 'config.json');
    await unlink(config);
    await symlink(config, config);
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: `${config} is a symlink loop (or a symbolic link where none is allowed)`,
    });
    await unlink(config);
    await mkdir(config);
    await expect(openModel(dir, { provider: 'cpu' })).rejects.toThrow(`${config} is a directory, not a file`);
  });
});

describe('generation_config.json eos_token_id', () => {
  it.each([
    ['a string', '"2"', '"2"'],
    ['a fraction', '2.5', '2.5'],
    ['negative', '-1', '-1'],
    ['past the vocabulary', '100000', '100000'],
    ['a list with a bad id', '[2, "x"]', '[2,"x"]'],
  ])('%s is refused with BAD_CONFIG naming the file and value', async (_, value, shown) => {
    const path = join(dir, 'generation_config.json');
    await writeFile(path, `{"eos_token_id": ${value}}`);
    const error = (await openModel(dir, { provider: 'cpu' }).then(
      () => new Error('opened'),
      (e: unknown) => e as Error,
    )) as Error & { code?: string };
    expect(error.code).toBe('BAD_CONFIG');
    expect(error.message).toMatch(`${path}: eos_token_id must be a token id in [0, `);
    expect(error.message).toMatch(new RegExp(`or a list of them, got ${shown.replace(/[[\].]/g, '\\$&')}$`));
  });

  it('valid ids (an int or a list) are taken; null leaves the tokenizer’s', async () => {
    const path = join(dir, 'generation_config.json');
    await writeFile(path, '{"eos_token_id": [2, 3]}');
    const listed = await openModel(dir, { provider: 'cpu' });
    expect(listed.eosTokenIds).toEqual([2, 3]);
    await listed.close();
    await writeFile(path, '{"eos_token_id": null}');
    const fallback = await openModel(dir, { provider: 'cpu' });
    expect(fallback.eosTokenIds).toEqual([fallback.tokenizer.eosTokenId]);
    await fallback.close();
  });
});

describe('InstructBLIP with a legacy config (no image_token_index) whose tokenizer has <image>', () => {
  it('opens, as transformers loads it, and answers like the same checkpoint without the token', async () => {
    const legacy = join(dir, 'legacy');
    const withToken = join(dir, 'with-token');
    await writeTinyInstructBlip(legacy, { seed: 31, dtype: 'F32', imageTokenIndex: false });
    await writeTinyInstructBlip(withToken, { seed: 31, dtype: 'F32' });
    const configPath = join(withToken, 'config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8'));
    delete config.image_token_index;
    await writeFile(configPath, JSON.stringify(config));

    const answers = [];
    for (const folder of [legacy, withToken]) {
      const model = await openModel(folder, { provider: 'cpu' });
      try {
        const sample = await prepareSample(model, {
          image: lcgImage(31, 32, 32),
          prompt: { kind: 'question', text: 'what color is the circle' },
        });
        // The query rows come first, BOS after them, in both.
        expect(sample.imageTokenSpan).toEqual([0, 4]);
        const result = await generate(model, sample, { maxNewTokens: 6 });
        answers.push({ ids: sample.expandedIds, tokens: result.tokenIds, text: result.text });
      } finally {
        await model.close();
      }
    }
    expect(answers[1]).toEqual(answers[0]);
  });
});
