import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { canonicalJson } from './canonicalJson.ts';
import { itemsHash, modelFingerprint } from './fingerprint.ts';
import { TempDirs } from './testing.ts';

const temp = new TempDirs();
afterEach(() => temp.removeAll());

async function modelFolder(): Promise<string> {
  const dir = join(temp.make('fusionscope-fp-'), 'model');
  await mkdir(dir);
  await writeFile(join(dir, 'config.json'), '{"model_type":"llava"}');
  await writeFile(join(dir, 'model.safetensors'), Buffer.alloc(64));
  await writeFile(join(dir, 'README.md'), 'notes');
  return dir;
}

describe('modelFingerprint', () => {
  it('is stable, and changes with the config or the weights but not with other files', async () => {
    const dir = await modelFolder();
    const base = await modelFingerprint(dir);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(await modelFingerprint(dir)).toBe(base);

    await writeFile(join(dir, 'README.md'), 'other notes');
    expect(await modelFingerprint(dir)).toBe(base);

    await writeFile(join(dir, 'config.json'), '{"model_type":"llava","x":1}');
    const changedConfig = await modelFingerprint(dir);
    expect(changedConfig).not.toBe(base);

    await writeFile(join(dir, 'model.safetensors'), Buffer.alloc(65));
    const changedSize = await modelFingerprint(dir);
    expect(changedSize).not.toBe(changedConfig);

    await utimes(join(dir, 'model.safetensors'), new Date(2_000_000_000_000), new Date(2_000_000_000_000));
    expect(await modelFingerprint(dir)).not.toBe(changedSize);
  });

  it('tells a run with converted weights from one with the checkpoint’s own (auto stays as before)', async () => {
    const dir = await modelFolder();
    const auto = await modelFingerprint(dir);
    expect(await modelFingerprint(dir, 'auto')).toBe(auto);
    const fp16 = await modelFingerprint(dir, 'fp16');
    expect(new Set([auto, fp16, await modelFingerprint(dir, 'bf16')]).size).toBe(3);
  });

  it('needs a folder with config.json', async () => {
    const dir = temp.make('fusionscope-fp-');
    await expect(modelFingerprint(dir)).rejects.toMatchObject({ code: 'MISSING_FILE' });
    await expect(modelFingerprint(join(dir, 'absent'))).rejects.toMatchObject({ code: 'MISSING_FILE' });
  });
});

describe('itemsHash', () => {
  it('depends on the ids and their order', () => {
    expect(itemsHash(['a', 'b'])).toBe(itemsHash(['a', 'b']));
    expect(itemsHash(['a', 'b'])).not.toBe(itemsHash(['b', 'a']));
    expect(itemsHash(['a,b'])).not.toBe(itemsHash(['a', 'b']));
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it('refuses values JSON cannot hold', () => {
    expect(() => canonicalJson(undefined)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => canonicalJson({ n: 1n })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => canonicalJson(cycle)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
  });
});
