/**
 * Queued runs through the app's backend, against a real redis-server and an in-process queue worker:
 * startRun with a queue records what the same run computed here records, the job says which queue and
 * which workers served it, listWorkers lists the worker, and a run no live worker can serve says why
 * while it waits. A queue that cannot be read is refused with a message naming it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ApiEvent, JobView } from '../common/api/index.ts';
import { DEMO_MODEL_DIR } from '../engine/demo.ts';
import { parseQueueAddress } from '../engine/queue/address.ts';
import { storedRun } from '../engine/queue/queue.testing.ts';
import {
  freePort,
  redisAvailable,
  startRedis,
  type RedisServer,
} from '../engine/queue/redisServer.testing.ts';
import { startWorker, type RunningWorker } from '../engine/queue/worker.ts';
import { Workspace } from '../engine/store/workspace.ts';
import { session, type Session } from './testing.ts';

const available = redisAvailable();
const WORKER_ID = 'backend-test-worker';
let root: string;
let redis: RedisServer;
/** A second server no worker listens on. */
let idle: RedisServer;
let worker: RunningWorker;
let app: Session;
let modelId: string;
let datasetId: string;

beforeAll(async () => {
  if (!available) return;
  root = await mkdtemp(join(tmpdir(), 'fusionscope-backend-queue-'));
  [redis, idle] = await Promise.all([startRedis(), startRedis()]);
  worker = await startWorker({
    address: parseQueueAddress(redis.url),
    models: [DEMO_MODEL_DIR],
    provider: 'cpu',
    id: WORKER_ID,
  });
  app = await session(join(root, 'workspace'));
  [{ id: modelId }] = await app.ok('listModels', {});
  [{ id: datasetId }] = await app.ok('listDatasets', {});
}, 120_000);

afterAll(async () => {
  await app?.backend.close();
  await worker?.close();
  await Promise.all([redis?.stop(), idle?.stop()]);
  if (root) await rm(root, { recursive: true, force: true });
});

/** The first job event (past or future) for `jobId` that `test` accepts. */
function jobEvent(jobId: number, test: (job: JobView) => boolean): Promise<JobView> {
  return app
    .event(
      (e): e is Extract<ApiEvent, { type: 'job' }> =>
        e.type === 'job' && e.job.jobId === jobId && test(e.job),
    )
    .then((e) => e.job);
}

describe.skipIf(!available)('queued runs from the app', () => {
  it('lists the live worker with what it holds', async () => {
    const listed = await app.ok('listWorkers', { queue: redis.url });
    expect(listed.queue).toBe(redis.url);
    expect(listed.workers.map((w) => w.id)).toEqual([WORKER_ID]);
    const [listedWorker] = listed.workers;
    // Its provider is known once it opens the model, at its first job.
    expect(listedWorker).toMatchObject({ pid: process.pid, concurrency: 1, failures: 0, busy: 0 });
    expect(listedWorker.models).toEqual([
      { name: 'model', contentHash: expect.stringMatching(/^[0-9a-f]{64}$/), precision: 'auto' },
    ]);
    expect(await app.ok('listWorkers', { queue: idle.url })).toEqual({ queue: idle.url, workers: [] });
  });

  it('a queued sweep records what the same sweep computed here records', async () => {
    const run = { kind: 'sweep', modelId, datasetId, limit: 4, config: { mode: 'knockout' } } as const;
    const queued = await app.ok('startRun', { ...run, queue: redis.url });
    expect(queued).toMatchObject({ queue: redis.url, workers: null, unserved: null });
    const queuedEnd = await app.finished(queued.jobId);
    expect(queuedEnd).toMatchObject({ outcome: 'done', done: 4, total: 4, queue: redis.url, unserved: null });
    // While it ran, the app heard which workers were live, and that one of them served the run.
    const heard = app.events.flatMap((e) =>
      e.type === 'job' && e.job.jobId === queued.jobId ? [e.job] : [],
    );
    const served = heard.find((job) => job.workers?.some((w) => w.id === WORKER_ID));
    expect(served).toMatchObject({ state: 'running', unserved: null });

    const local = await app.ok('startRun', run);
    expect(local.queue).toBeNull();
    const localEnd = await app.finished(local.jobId);
    expect(localEnd).toMatchObject({ outcome: 'done', done: 4, workers: null });
    expect(localEnd.runId).not.toBe(queuedEnd.runId);

    const workspace = Workspace.open((await app.ok('appInfo', {})).workspace);
    try {
      const fromQueue = storedRun(workspace, queuedEnd.runId as number);
      expect(fromQueue.samples).toHaveLength(4);
      expect(fromQueue.samples.every((s) => s.status === 'ok')).toBe(true);
      expect(fromQueue).toEqual(storedRun(workspace, localEnd.runId as number));
    } finally {
      workspace.close();
    }
    const [after] = (await app.ok('listWorkers', { queue: redis.url })).workers;
    expect(after).toMatchObject({ id: WORKER_ID, provider: 'cpu', samples: 4, failures: 0 });
    expect(after.meanSampleMs).toBeGreaterThan(0);
  });

  it('a queued run no live worker serves says why while it waits, and cancels', async () => {
    const job = await app.ok('startRun', {
      kind: 'eval',
      modelId,
      datasetId,
      limit: 2,
      config: {},
      queue: idle.url,
    });
    const waiting = await jobEvent(job.jobId, (j) => j.unserved !== null);
    expect(waiting).toMatchObject({ state: 'running', queue: idle.url, workers: [] });
    expect(waiting.unserved).toMatch(/^no worker is live on this queue; start one with: fusionscope worker/);
    await app.ok('cancelJob', { jobId: job.jobId });
    expect(await app.finished(job.jobId)).toMatchObject({ outcome: 'cancelled', unserved: null });
  });

  it('a queue that cannot be reached, or read, is refused naming it', async () => {
    const port = await freePort();
    expect(await app.fails('listWorkers', { queue: `redis://127.0.0.1:${port}` })).toEqual({
      code: 'QUEUE',
      message: `cannot use the queue at redis://127.0.0.1:${port}: nothing answers there (is redis-server running, on that port?)`,
    });
    // The password never comes back in the refusal.
    const refused = await app.fails('listWorkers', { queue: `redis://fusion:s3cret@127.0.0.1:${port}` });
    expect(refused.code).toBe('QUEUE');
    expect(refused.message).toContain(`redis://fusion:***@127.0.0.1:${port}`);
    expect(refused.message).not.toContain('s3cret');
    expect(
      await app.fails('startRun', { kind: 'eval', modelId, datasetId, queue: 'redis://h/x' }),
    ).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/database "x" is not a number/) });
  });
});
