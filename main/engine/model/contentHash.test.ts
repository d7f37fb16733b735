import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hubRevision, modelContentHash } from './contentHash.ts';

let root: string;
let folder: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-hash-'));
  folder = join(root, 'model');
  await mkdir(join(folder, 'qformer_tokenizer'), { recursive: true });
  await writeFile(join(folder, 'config.json'), '{"model_type":"llava"}');
  await writeFile(join(folder, 'model.safetensors'), Buffer.alloc(3 * 2 ** 20, 7));
  await writeFile(join(folder, 'qformer_tokenizer', 'vocab.txt'), 'a\nb\n');
  await writeFile(join(folder, '.DS_Store'), 'ignored');
});

afterAll(() => rm(root, { recursive: true, force: true }));

/** The documented formula, computed here from the bytes with no cache. */
async function expected(dir: string): Promise<string> {
  const names = ['config.json', 'model.safetensors', join('qformer_tokenizer', 'vocab.txt')].sort();
  const total = createHash('sha256');
  for (const name of names) {
    const bytes = await readFile(join(dir, name));
    total.update(`${name}\0${bytes.length}\0${createHash('sha256').update(bytes).digest('hex')}\n`);
  }
  return total.digest('hex');
}

describe('modelContentHash', () => {
  it('hashes every file’s bytes (hidden files aside), wherever the folder is', async () => {
    const cache = join(root, 'cache-a');
    expect(await modelContentHash(folder, cache)).toBe(await expected(folder));
    const copy = join(root, 'copy');
    await cp(folder, copy, { recursive: true });
    expect(await modelContentHash(copy, join(root, 'cache-b'))).toBe(await modelContentHash(folder, cache));
  });

  it('keeps per-file hashes, re-reading only a file whose size or mtime changed', async () => {
    const cache = join(root, 'cache-c');
    const first = await modelContentHash(folder, cache);
    const [entry] = await readdir(join(cache, 'content-hashes'));
    const file = join(cache, 'content-hashes', entry);
    const stored = JSON.parse(await readFile(file, 'utf8'));
    // A planted per-file hash is believed while the file's size, mtime and inode still match...
    stored.files['config.json'].sha256 = '0'.repeat(64);
    await writeFile(file, JSON.stringify(stored));
    expect(await modelContentHash(folder, cache)).not.toBe(first);
    // ...and replaced once the file is touched.
    const later = new Date(Date.now() + 5000);
    await utimes(join(folder, 'config.json'), later, later);
    expect(await modelContentHash(folder, cache)).toBe(first);
  });

  it('changes when any file’s content changes', async () => {
    const cache = join(root, 'cache-d');
    const before = await modelContentHash(folder, cache);
    await writeFile(join(folder, 'qformer_tokenizer', 'vocab.txt'), 'a\nc\n');
    expect(await modelContentHash(folder, cache)).not.toBe(before);
    expect(await modelContentHash(folder, cache)).toBe(await expected(folder));
  });

  it('still hashes when the cache folder cannot be written', async () => {
    const blocked = join(root, 'not-a-folder');
    await writeFile(blocked, 'x');
    expect(await modelContentHash(folder, blocked)).toBe(await expected(folder));
  });
});

describe('hubRevision', () => {
  it('reads the snapshot commit of a Hugging Face cache folder', () => {
    const sha = 'a'.repeat(40);
    expect(hubRevision(`/h/hub/models--llava-hf--llava-1.5-7b-hf/snapshots/${sha}`)).toBe(sha);
    expect(hubRevision(`/h/hub/models--llava-hf--llava-1.5-7b-hf/snapshots/${sha}/`)).toBe(sha);
    expect(hubRevision('/models/llava')).toBeNull();
  });
});
