/**
 * Queued runs against a real redis-server and in-process workers: a queued sweep stores exactly what
 * a local one stores (same rows, same numbers), donors travel with their item, a worker holding another
 * checkpoint under the same name is never given the run's jobs (and says why, as does the coordinator),
 * a hand-made job for other weights is refused, and cancel takes the run's jobs back.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_DATASET_DIR, DEMO_MODEL_DIR } from '../demo.ts';
import { runExperiment, type ExperimentConfig } from '../experiments/experiment.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { Workspace } from '../store/workspace.ts';
import { parseQueueAddress, type QueueAddress } from './address.ts';
import { bullConnection } from './connection.ts';
import { KEY_PREFIX, sampleQueueName } from './names.ts';
import { storedRun } from './queue.testing.ts';
import { redisAvailable, startRedis, type RedisServer } from './redisServer.testing.ts';
import { WIRE_VERSION } from './wire.ts';
import { startWorker, type RunningWorker } from './worker.ts';
import type { WorkerStatus } from './workers.ts';

const available = redisAvailable();
let root: string;
let redis: RedisServer;
let address: QueueAddress;
let model: LoadedModel;
let worker: RunningWorker;

beforeAll(async () => {
  if (!available) return;
  root = await mkdtemp(join(tmpdir(), 'fusionscope-queue-'));
  redis = await startRedis();
  address = parseQueueAddress(redis.url);
  model = await openModel(DEMO_MODEL_DIR, { provider: 'cpu' });
  worker = await startWorker({ address, models: [DEMO_MODEL_DIR], provider: 'cpu', id: 'inproc-1' });
}, 120_000);

afterAll(async () => {
  await worker?.close();
  await model?.close();
  await redis?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

async function runIn(dir: string, experiment: ExperimentConfig, limit: number, queued: boolean, extra = {}) {
  const workspace = Workspace.open(join(root, dir));
  try {
    const outcome = await runExperiment(
      { model, workspace, dataset: DEMO_DATASET_DIR, limit },
      experiment,
      queued ? { queue: { address }, ...extra } : extra,
    );
    return { outcome, stored: outcome.status === 'done' ? storedRun(workspace, outcome.runId) : null };
  } finally {
    workspace.close();
  }
}

describe.skipIf(!available)('queued runs', () => {
  it('a queued knockout sweep stores what the same sweep run here stores', async () => {
    const sweep = { kind: 'sweep', config: { mode: 'knockout' } };
    const local = await runIn('local', sweep, 10, false);
    const queued = await runIn('queued', sweep, 10, true);
    expect(queued.outcome.status).toBe('done');
    expect(queued.stored?.samples).toHaveLength(10);
    expect(queued.stored).toEqual(local.stored);
  }, 120_000);

  it('a resample sweep sends each item its donor image and matches the local run', async () => {
    const sweep = { kind: 'sweep', config: { mode: 'hidden', fill: 'resample' } };
    const local = await runIn('local-resample', sweep, 4, false);
    const queued = await runIn('queued-resample', sweep, 4, true);
    expect(local.stored?.samples.every((s) => s.status === 'ok')).toBe(true);
    expect(queued.stored).toEqual(local.stored);
  }, 120_000);

  it('other weights under the same folder name are not served, and a job for them is refused', async () => {
    // A copy of the demo model in a folder of the same name, one weight changed.
    const other = join(root, 'elsewhere', 'model');
    await mkdir(other, { recursive: true });
    for (const name of await readdir(DEMO_MODEL_DIR))
      await copyFile(join(DEMO_MODEL_DIR, name), join(other, name));
    const weights = await readFile(join(other, 'model.safetensors'));
    weights[weights.length - 3] ^= 0x40;
    await writeFile(join(other, 'model.safetensors'), weights);
    await worker.close(); // only the wrong worker is live now
    const wrong = await startWorker({ address, models: [other], provider: 'cpu', id: 'wrong-weights' });
    try {
      expect(wrong.served[0].name).toBe('model');
      const seen: string[] = [];
      const controller = new AbortController();
      const run = runIn('unserved', { kind: 'sweep', config: { mode: 'knockout' } }, 3, true, {
        signal: controller.signal,
        queue: {
          address,
          onWorkers: (_workers: readonly WorkerStatus[], unserved: string | null) => {
            if (unserved) {
              seen.push(unserved);
              controller.abort();
            }
          },
        },
      });
      const { outcome } = await run;
      expect(outcome.status).toBe('cancelled');
      expect(seen[0]).toMatch(/wrong-weights holds model with other weights .*refused/);

      // A job naming the right queue's checkpoint but other weights (hand-made, or stale): refused.
      const queue = new Queue(sampleQueueName(wrong.served[0].contentHash, 'auto'), {
        connection: bullConnection(address),
        prefix: KEY_PREFIX,
      });
      const image = (await readFile(join(DEMO_DATASET_DIR, 'images', 'test-000001.png'))).toString('base64');
      const job = await queue.add('sweep', {
        version: WIRE_VERSION,
        run: { key: 'ab'.repeat(16), id: 1 },
        kind: 'sweep',
        config: { mode: 'knockout' },
        model: { name: 'model', contentHash: 'f'.repeat(64), precision: 'auto' },
        position: 0,
        item: {
          id: 'x',
          question: 'What colour is the square?',
          answers: ['red'],
          family: 'colour',
          subtype: null,
          boxes: [],
          metric: 'exact',
          image: { name: 'test-000001.png', base64: image },
        },
        companions: [],
      });
      let state = await job.getState();
      for (let i = 0; i < 100 && state !== 'failed'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        state = await job.getState();
      }
      expect(state).toBe('failed');
      const failed = await queue.getJob(job.id as string);
      expect(failed?.failedReason).toMatch(/^refused: the job is for model \(content ffffffffffff…/);
      // Another malformed job: a path where a file name belongs.
      const hostile = await queue.add('sweep', {
        ...job.data,
        item: { ...job.data.item, image: { name: '../../etc/passwd', base64: '' } },
      });
      for (let i = 0; i < 100 && (await hostile.getState()) !== 'failed'; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect((await queue.getJob(hostile.id as string))?.failedReason).toMatch(
        /^malformed job: item\.image\.name: a file name, not a path/,
      );
      await queue.close();
    } finally {
      await wrong.close();
      worker = await startWorker({ address, models: [DEMO_MODEL_DIR], provider: 'cpu', id: 'inproc-2' });
    }
  }, 120_000);

  it('a job that fails on every try is recorded as that item’s error, with the reason', async () => {
    // A worker holding the right checkpoint that cannot open it: its model cache is under a file.
    await worker.close();
    const broken = await startWorker({
      address,
      models: [DEMO_MODEL_DIR],
      provider: 'cpu',
      id: 'broken-cache',
      cacheDir: join(DEMO_MODEL_DIR, 'config.json', 'cache'),
    });
    try {
      const { outcome } = await runIn('failing', { kind: 'sweep', config: { mode: 'knockout' } }, 2, true);
      expect(outcome.status).toBe('done');
      const workspace = Workspace.open(join(root, 'failing'));
      const samples = workspace.readSamples(outcome.runId);
      workspace.close();
      expect(samples).toHaveLength(2);
      for (const sample of samples) {
        expect(sample.status).toBe('error');
        expect(sample.error).toMatch(/^failed on the workers after 3 attempt\(s\): .*config\.json/);
      }
    } finally {
      await broken.close();
      worker = await startWorker({ address, models: [DEMO_MODEL_DIR], provider: 'cpu', id: 'inproc-3' });
    }
  }, 120_000);

  it('cancel takes the run’s jobs back, and the run resumes to the local result', async () => {
    const sweep = { kind: 'sweep', config: { mode: 'hidden' } };
    const controller = new AbortController();
    let cancelledAt = -1;
    const first = await runIn('cancel', sweep, 40, true, {
      signal: controller.signal,
      queue: { address, window: 8 },
      onProgress: (p: { done: number }) => {
        if (p.done >= 3 && cancelledAt < 0) {
          cancelledAt = p.done;
          controller.abort();
        }
      },
    });
    expect(first.outcome.status).toBe('cancelled');
    const queue = new Queue(sampleQueueName(worker.served[0].contentHash, 'auto'), {
      connection: bullConnection(address),
      prefix: KEY_PREFIX,
    });
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed');
    await queue.close();
    expect(counts).toEqual({ waiting: 0, active: 0, delayed: 0, prioritized: 0, completed: 0 });
    const workspace = Workspace.open(join(root, 'cancel'));
    const done = workspace.getRun(first.outcome.runId).done;
    workspace.close();
    expect(done).toBeLessThan(40);
    const resumed = await runIn('cancel', sweep, 40, true, { resume: 'auto' });
    expect(resumed.outcome.runId).toBe(first.outcome.runId);
    const local = await runIn('cancel-local', sweep, 40, false);
    expect(resumed.stored).toEqual(local.stored);
  }, 180_000);
});
