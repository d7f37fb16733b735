/**
 * How many models `analyze` runs at once: the rule on machines of several sizes, the weight files it
 * sizes a checkpoint by, and `--jobs` as given.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { analyzeJobs, jobsFor, weightFileBytes } from './analyzeJobs.ts';

const GiB = 2 ** 30;
const machine = { models: 2, cpus: 2, onCpu: true, largestWeightBytes: 20e6, availableBytes: 20 * GiB };

describe('jobsFor', () => {
  it('runs small models side by side on the CPU, one per core at most', () => {
    expect(jobsFor(machine)).toBe(2);
    expect(jobsFor({ ...machine, models: 5 })).toBe(2);
    expect(jobsFor({ ...machine, models: 5, cpus: 16 })).toBe(5);
    expect(jobsFor({ ...machine, cpus: 1 })).toBe(1);
  });

  it('runs one at a time on a GPU, and as many as the memory holds on the CPU', () => {
    expect(jobsFor({ ...machine, onCpu: false })).toBe(1);
    // A 7B checkpoint in float16 (13.5 GB, about 16.5 GiB each as stored): one in 22 GiB free, two in
    // 40, three in 60, never none; widened to float32, one in 40.
    const sevenB = { ...machine, models: 3, cpus: 16, largestWeightBytes: 13.5e9 };
    expect(jobsFor({ ...sevenB, availableBytes: 22 * GiB })).toBe(1);
    expect(jobsFor({ ...sevenB, availableBytes: 60 * GiB })).toBe(3);
    expect(jobsFor({ ...sevenB, availableBytes: 40 * GiB })).toBe(2);
    expect(jobsFor({ ...sevenB, availableBytes: 4 * GiB })).toBe(1);
    expect(jobsFor({ ...sevenB, availableBytes: 40 * GiB, precision: 'fp32' })).toBe(1);
    expect(jobsFor({ ...sevenB, availableBytes: 60 * GiB, precision: 'fp32' })).toBe(2);
  });
});

describe('analyzeJobs', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fusionscope-jobs-'));
    await mkdir(join(root, 'a'));
    await writeFile(join(root, 'a', 'model-00001-of-00002.safetensors'), Buffer.alloc(3000));
    await writeFile(join(root, 'a', 'model-00002-of-00002.safetensors'), Buffer.alloc(1000));
    await writeFile(join(root, 'a', 'pytorch_model.bin'), Buffer.alloc(500));
    await writeFile(join(root, 'a', 'config.json'), '{}');
    await writeFile(join(root, 'a', 'tokenizer.json'), Buffer.alloc(9000));
    await mkdir(join(root, 'bin-only'));
    await writeFile(join(root, 'bin-only', 'pytorch_model.bin'), Buffer.alloc(700));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('sizes a checkpoint by its weight files alone, every shard counted, safetensors before .bin', async () => {
    expect(await weightFileBytes(join(root, 'a'))).toBe(4000);
    expect(await weightFileBytes(join(root, 'bin-only'))).toBe(700);
  });

  it('takes --jobs as given (at most one per model) and refuses what is not a count', async () => {
    const folders = [join(root, 'a'), join(root, 'a')];
    expect(await analyzeJobs({ jobs: '1' }, folders)).toBe(1);
    expect(await analyzeJobs({ jobs: '8' }, folders)).toBe(2);
    expect(await analyzeJobs({}, [join(root, 'a')])).toBe(1);
    for (const jobs of ['0', '1,2', 'two', '-1', '']) {
      await expect(analyzeJobs({ jobs }, folders)).rejects.toMatchObject({
        code: 'BAD_ARGUMENT',
        message: expect.stringContaining('--jobs'),
      });
    }
  });

  it('decides on this machine without --jobs: small models on the CPU, one per core up to one per model', async () => {
    const folders = [join(root, 'a'), join(root, 'a'), join(root, 'a')];
    expect(await analyzeJobs({ provider: 'cpu' }, folders)).toBe(Math.min(3, availableParallelism()));
  });
});
