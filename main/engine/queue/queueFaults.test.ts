/**
 * A queued sweep on the demo model with three worker processes (the real CLI) and a real redis-server,
 * through the faults a cluster has: one worker killed with SIGKILL mid-run (its job goes to another
 * once its lock expires), and the coordinator itself killed with SIGKILL and started again (it collects
 * what the workers computed meanwhile). Each time the stored run equals a local run of the same sweep,
 * row for row, with no duplicate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_DATASET_DIR, DEMO_MODEL_DIR } from '../demo.ts';
import { runExperiment } from '../experiments/experiment.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { countRows } from '../store/testing.ts';
import { Workspace } from '../store/workspace.ts';
import { parseQueueAddress, type QueueAddress } from './address.ts';
import { bullConnection, connectRedis } from './connection.ts';
import { KEY_PREFIX, sampleQueueName } from './names.ts';
import { storedRun } from './queue.testing.ts';
import { redisAvailable, startRedis, type RedisServer } from './redisServer.testing.ts';
import { liveWorkers } from './workers.ts';

const BIN = fileURLToPath(new URL('../../../bin/fusionscope.mjs', import.meta.url));
const ITEMS = 60;
const SWEEP = { kind: 'sweep', config: { mode: 'knockout' } };

const available = redisAvailable();
let root: string;
let redis: RedisServer;
let address: QueueAddress;
let model: LoadedModel;
let local: ReturnType<typeof storedRun>;
let modelHash: string;
const workers = new Map<number, ChildProcess>();

function startWorkerProcess(id: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [BIN, 'worker', '--queue', redis.url, '--provider', 'cpu', '--lock-ms', '2000', '--worker-id', id],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    const lines = text.split('\n');
    text = lines.pop() ?? '';
    for (const line of lines) if (/: started$/.test(line)) onJobStarted?.(child);
  });
  workers.set(child.pid as number, child);
  return child;
}

/** Called as a worker process says it started a job (its stderr), while a test listens. */
let onJobStarted: ((child: ChildProcess) => void) | null = null;

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  ms = 90_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stored(dir: string, runId: number) {
  const workspace = Workspace.open(dir);
  try {
    return storedRun(workspace, runId);
  } finally {
    workspace.close();
  }
}

beforeAll(async () => {
  if (!available) return;
  root = await mkdtemp(join(tmpdir(), 'fusionscope-queue-faults-'));
  redis = await startRedis();
  address = parseQueueAddress(redis.url);
  model = await openModel(DEMO_MODEL_DIR, { provider: 'cpu' });
  const workspace = Workspace.open(join(root, 'local'));
  const outcome = await runExperiment({ model, workspace, dataset: DEMO_DATASET_DIR, limit: ITEMS }, SWEEP);
  local = storedRun(workspace, outcome.runId);
  modelHash = workspace.getRun(outcome.runId).provenance?.modelHash as string;
  workspace.close();
  for (const id of ['w1', 'w2', 'w3']) startWorkerProcess(id);
  const client = await connectRedis(address);
  await waitFor('three live workers', async () => (await liveWorkers(client)).length === 3);
  client.disconnect();
}, 180_000);

afterAll(async () => {
  for (const child of workers.values()) if (child.exitCode === null) child.kill('SIGKILL');
  await model?.close();
  await redis?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe.skipIf(!available)('a queued sweep through faults', () => {
  it('a worker killed with SIGKILL mid-job: its job is retried by another, nothing lost or doubled', async () => {
    const client = await connectRedis(address);
    const events = new QueueEvents(sampleQueueName(modelHash, 'auto'), {
      connection: bullConnection(address),
      prefix: KEY_PREFIX,
    });
    const stalled: string[] = [];
    events.on('stalled', ({ jobId }) => stalled.push(jobId));
    await events.waitUntilReady();
    const dir = join(root, 'killed-worker');
    const workspace = Workspace.open(dir);
    let killed: number | null = null;
    try {
      const outcome = await runExperiment(
        { model, workspace, dataset: DEMO_DATASET_DIR, limit: ITEMS },
        SWEEP,
        {
          queue: { address, window: 6 },
          onProgress: (p) => {
            // Once a few samples are in: the next worker to say it started a job is killed in the middle of it.
            if (p.done >= 10 && killed === null && onJobStarted === null) {
              onJobStarted = (child) => {
                onJobStarted = () => undefined;
                child.kill('SIGKILL');
                killed = child.pid as number;
              };
            }
          },
        },
      );
      expect(killed).not.toBeNull();
      expect(outcome.status).toBe('done');
      // Its job was found stalled (lock expired) and computed again by another worker.
      expect(stalled.length).toBeGreaterThanOrEqual(1);
      expect(countRows(dir, 'samples', outcome.runId)).toBe(ITEMS);
      workspace.close();
      expect(stored(dir, outcome.runId)).toEqual(local);
      // The killed worker leaves the live list when its entry expires; the two others remain.
      const live = await waitFor('the killed worker to leave the list', async () => {
        const now = await liveWorkers(client);
        return now.length === 2 && now;
      });
      expect(live.map((w) => w.pid)).not.toContain(killed);
    } finally {
      onJobStarted = null;
      workspace.close();
      await events.close();
      client.disconnect();
    }
  }, 180_000);

  it('the coordinator killed with SIGKILL mid-run and started again collects the rest', async () => {
    const dir = join(root, 'killed-coordinator');
    const args = [
      BIN,
      'sweep',
      '--mode',
      'knockout',
      '--queue',
      redis.url,
      '--queue-window',
      '6',
      '--workspace',
      dir,
      '--limit',
      String(ITEMS),
      '--provider',
      'cpu',
    ];
    const first = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    first.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    await waitFor('the first coordinator to record samples', async () => {
      const match = [...err.matchAll(/ (\d+)\/60/g)].pop();
      return match !== undefined && Number(match[1]) >= 10 && Number(match[1]) < ITEMS;
    });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const before = countRows(dir, 'samples');
    expect(before).toBeLessThan(ITEMS);

    const second = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    second.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise((resolve) => second.once('exit', resolve));
    expect(code).toBe(0);
    expect(out).toMatch(/sweep/);
    expect(countRows(dir, 'samples')).toBe(ITEMS);
    const workspace = Workspace.open(dir);
    const runs = workspace.listRuns();
    workspace.close();
    expect(runs).toHaveLength(1);
    expect(stored(dir, runs[0].id)).toEqual(local);
  }, 240_000);
});
