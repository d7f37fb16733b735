/**
 * `npm run bench -- --queue [--items 120] [--workers 1,2,3]`: a queued knockout sweep of the demo model on
 * its test split, with 1, 2 and 3 local worker processes (the real CLI) on a real redis-server, against
 * the same sweep computed in this process. Prints samples per second and the ratio to the local run.
 * On one machine the workers share its cores: this measures the queue's overhead and how a CPU-bound
 * pass scales when the cores are already busy, not what more machines give.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DEMO_DATASET_DIR, DEMO_MODEL_DIR } from '../main/engine/demo.ts';
import { runExperiment } from '../main/engine/experiments/experiment.ts';
import { openModel } from '../main/engine/model/openModel.ts';
import { parseQueueAddress } from '../main/engine/queue/address.ts';
import { connectRedis } from '../main/engine/queue/connection.ts';
import { startRedis } from '../main/engine/queue/redisServer.testing.ts';
import { liveWorkers } from '../main/engine/queue/workers.ts';
import { Workspace } from '../main/engine/store/workspace.ts';

const BIN = fileURLToPath(new URL('../bin/fusionscope.mjs', import.meta.url));
const SWEEP = { kind: 'sweep', config: { mode: 'knockout' } };

export async function queueThroughputBench(options: {
  items: number;
  workerCounts: readonly number[];
}): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'fusionscope-bench-queue-'));
  const redis = await startRedis();
  const address = parseQueueAddress(redis.url);
  const client = await connectRedis(address);
  const model = await openModel(DEMO_MODEL_DIR, { provider: 'cpu' });
  const timed = async (dir: string, queued: boolean): Promise<number> => {
    const workspace = Workspace.open(join(root, dir));
    const started = performance.now();
    try {
      await runExperiment(
        { model, workspace, dataset: DEMO_DATASET_DIR, limit: options.items },
        SWEEP,
        queued ? { queue: { address } } : {},
      );
      return (performance.now() - started) / 1000;
    } finally {
      workspace.close();
    }
  };
  try {
    console.log(
      `queued knockout sweep, demo model, ${options.items} items; ${cpus().length} cores (${cpus()[0]?.model.trim()})`,
    );
    await timed('warm-up', false);
    const local = await timed('local', false);
    const localRate = options.items / local;
    console.log(`| workers | wall (s) | samples/s | vs. this process alone |`);
    console.log(`| ------- | -------- | --------- | ---------------------- |`);
    console.log(`| none (local run) | ${local.toFixed(1)} | ${localRate.toFixed(1)} | 1.00× |`);
    for (const count of options.workerCounts) {
      const children: ChildProcess[] = [];
      for (let i = 0; i < count; i++) {
        children.push(
          spawn(
            process.execPath,
            [BIN, 'worker', '--queue', redis.url, '--provider', 'cpu', '--worker-id', `bench-${count}-${i}`],
            { stdio: 'ignore' },
          ),
        );
      }
      while ((await liveWorkers(client)).filter((w) => w.id.startsWith(`bench-${count}-`)).length < count) {
        await new Promise((r) => setTimeout(r, 100));
      }
      await timed(`warm-${count}`, true); // each worker opens its model at its first job
      const wall = await timed(`queued-${count}`, true);
      const rate = options.items / wall;
      console.log(
        `| ${count} | ${wall.toFixed(1)} | ${rate.toFixed(1)} | ${(rate / localRate).toFixed(2)}× |`,
      );
      for (const child of children) child.kill('SIGTERM');
      await Promise.all(
        children.map(
          (child) => new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r))),
        ),
      );
    }
  } finally {
    client.disconnect();
    await model.close();
    await redis.stop();
    await rm(root, { recursive: true, force: true });
  }
}
