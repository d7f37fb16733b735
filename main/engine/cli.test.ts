/**
 * The CLI as a user runs it: flags in, JSON file or an `error [CODE]` line out, and never a partial
 * output file. One test spawns the real `bin/fusionscope.mjs` to prove `npx fusionscope` works.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { rewriteCheckpoint } from '../../native-models/testing/rewrite.ts';
import { writeTinyLlava } from '../../native-models/testing/tinyLlava.ts';
import { main } from './cli.ts';

let dir: string;
let model: string;
let image: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusionscope-cli-'));
  model = join(dir, 'model');
  await writeTinyLlava(model, { seed: 21, dtype: 'F16', layout: 'modern' });
  const png = new PNG({ width: 48, height: 32 });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 29) % 251;
  image = join(dir, 'scene.png');
  await writeFile(image, PNG.sync.write(png));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const err = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk) => ((stderr += String(chunk)), true));
  const out = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk) => ((stdout += String(chunk)), true));
  try {
    return { code: await main(args), stderr, stdout };
  } finally {
    err.mockRestore();
    out.mockRestore();
  }
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

describe('fusionscope trace', () => {
  it('writes the documented JSON fields, with the intervention applied', async () => {
    const plainPath = join(dir, 'plain.json');
    const maskedPath = join(dir, 'masked.json');
    const base = ['trace', '--model', model, '--image', image, '--provider', 'cpu'];
    expect(
      (await run([...base, '--prompt', 'USER: <image>\nwhat color ASSISTANT:', '--json', plainPath])).code,
    ).toBe(0);
    const masked = await run([
      ...base,
      '--prompt',
      'USER: <image>\nwhat color ASSISTANT:',
      '--mask-mode',
      'hidden',
      '--mask-layers',
      '0,1',
      '--mask-tokens',
      '0,5,6',
      '--mask-scale',
      '0.1',
      '--json',
      maskedPath,
    ]);
    expect(masked.code).toBe(0);
    const plain = JSON.parse(await readFile(plainPath, 'utf8'));
    const edited = JSON.parse(await readFile(maskedPath, 'utf8'));
    expect(plain.executionProvider).toBe('cpu');
    expect(plain.inputIds.filter((id: number) => id === 708)).toHaveLength(1); // <image> once, unexpanded
    expect(plain.imageTokenSpan[1] - plain.imageTokenSpan[0]).toBe(16);
    expect(plain.lastLogits).toHaveLength(710);
    expect(plain.imageAttention).toHaveLength(3);
    expect(plain.imageAttention[0]).toHaveLength(16);
    expect(edited.interventions).toEqual([{ mode: 'hidden', layers: [0, 1], tokens: [0, 5, 6], scale: 0.1 }]);
    expect(edited.lastLogits).not.toEqual(plain.lastLogits);
  });

  it.each([
    [
      ['--mask-mode', 'knockout', '--mask-layers', '9'],
      /layer 9 is out of range; the model has decoder layers 0\.\.2/,
    ],
    [
      ['--mask-mode', 'hidden', '--mask-layers', '1', '--mask-tokens', '16'],
      /image token 16 is out of range.*0\.\.15/,
    ],
    [
      ['--mask-mode', 'erase', '--mask-layers', '1'],
      /--mask-mode: "erase" is not one of knockout, attention, hidden/,
    ],
    [['--mask-layers', '1'], /--mask-layers needs --mask-mode/],
    [['--mask-mode', 'hidden', '--mask-layers', '1,x'], /--mask-layers: "x" is not a non-negative integer/],
  ])('rejects %j clearly and writes no output file', async (flags, message) => {
    const out = join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    const result = await run([
      'trace',
      '--model',
      model,
      '--image',
      image,
      '--question',
      'what color',
      '--provider',
      'cpu',
      ...flags,
      '--json',
      out,
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(await exists(out)).toBe(false);
  });

  it('a prompt without <image> is a BAD_PROMPT error', async () => {
    const result = await run([
      'trace',
      '--model',
      model,
      '--image',
      image,
      '--prompt',
      'no image here',
      '--provider',
      'cpu',
      '--json',
      join(dir, 'x.json'),
    ]);
    expect(result.stderr).toMatch(/error \[BAD_PROMPT\]: the prompt has no <image> placeholder/);
  });

  it('a file that is not an image is a BAD_IMAGE error naming it', async () => {
    const notImage = join(dir, 'notes.png');
    await writeFile(notImage, 'just some text');
    const result = await run([
      'trace',
      '--model',
      model,
      '--image',
      notImage,
      '--question',
      'q',
      '--provider',
      'cpu',
      '--json',
      join(dir, 'y.json'),
    ]);
    expect(result.stderr).toMatch(/error \[BAD_IMAGE\].*notes\.png/);
  });
});

describe('fusionscope answer', () => {
  it('runs through the real bin script (npx fusionscope)', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        'bin/fusionscope.mjs',
        'answer',
        '--model',
        model,
        '--image',
        image,
        '--question',
        'what color is the square',
        '--max-new-tokens',
        '3',
        '--provider',
        'cpu',
      ],
      { cwd: join(import.meta.dirname, '..', '..') },
    );
    expect(stdout.trim().length).toBeGreaterThan(0);
    expect(stderr).toMatch(/\[cpu, 3 tokens, stopped by max_tokens\]/);
  });

  it('unknown commands and flags exit with code 2', async () => {
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run(['answer', '--colour', 'red'])).stderr).toMatch(/error \[BAD_ARGUMENT\].*colour/);
  });
});

describe('prompts longer than the model’s positions', () => {
  const trace = (folder: string, question: string) =>
    run([
      'trace',
      '--model',
      folder,
      '--image',
      image,
      '--question',
      question,
      '--provider',
      'cpu',
      '--json',
      join(dir, 'long.json'),
    ]);

  it('are refused before anything runs, by the text alone or with the image tokens', async () => {
    const long = await trace(model, 'what color is the circle '.repeat(1200));
    expect(long.code).toBe(1);
    expect(long.stderr).toMatch(
      /^error \[BAD_PROMPT\]: the prompt needs \d+ positions before its image tokens are added; the model has 4096 \(max_position_embeddings\): shorten the question\n$/,
    );
    expect(await exists(join(dir, 'long.json'))).toBe(false);

    // Room for the text, not for the text and the image's 16 tokens.
    const short = join(dir, 'short-positions');
    await rewriteCheckpoint(model, short, {
      config: (config) => ((config.text_config as Record<string, unknown>).max_position_embeddings = 20),
    });
    const withImage = await trace(short, 'what color');
    expect(withImage.stderr).toMatch(
      /error \[BAD_PROMPT\]: the prompt needs \d+ positions with its image tokens; the model has 20/,
    );
  });
});

describe('fusionscope cache list|clear', () => {
  it('lists entries with their size, flags unfinished ones, and clears by key prefix or all', async () => {
    const cacheDir = join(dir, 'cache');
    const info = await run(['info', '--model', model, '--provider', 'cpu', '--model-cache', cacheDir]);
    const key = (JSON.parse(info.stdout).cache.dir as string).split(/[/\\]/).pop()!;
    await mkdir(join(cacheDir, `${key}.partial-1-2`));
    const listed = await run(['cache', 'list', '--model-cache', cacheDir]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${key}  `);
    expect(listed.stdout).toMatch(/auto +\S*model \(built /);
    expect(listed.stdout).toMatch(/damaged: an unfinished build/);
    expect(listed.stdout).toMatch(/2 model\(s\), [\d.]+ GiB in /);

    const one = await run(['cache', 'clear', '--model-cache', cacheDir, '--key', `${key}.partial`]);
    expect(one.stdout).toMatch(/^removed 1 model\(s\)/);
    expect(await readdir(cacheDir)).toEqual([key]);
    const all = await run(['cache', 'clear', '--model-cache', cacheDir]);
    expect(all.stdout).toMatch(/^removed 1 model\(s\)/);
    expect(await readdir(cacheDir)).toEqual([]);

    const empty = await run(['cache', 'clear', '--model-cache', cacheDir, '--key', '']);
    expect(empty.stderr).toContain('error [BAD_ARGUMENT]: cache clear: --key is empty');

    const bad = await run(['cache', 'prune', '--model-cache', cacheDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error [BAD_ARGUMENT]: cache: expected "list" or "clear", got "prune"');
  });
});
