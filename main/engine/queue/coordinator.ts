/**
 * The coordinator's side of a queued run: an executor (experiments/runner.ts `SampleExecutor`) that hands
 * the items a run lacks to workers through BullMQ and yields each sample as a worker replies, so the
 * runner records it exactly as it records a sample computed here.
 *
 * - At most `window` jobs are in the queue at once: Redis holds a bounded number of images, and a
 *   cancel has little to take back.
 * - A job's id is (run key, item position): enqueueing it again, after a coordinator restart, finds
 *   the job already there (done, in progress or waiting) instead of adding a second one. A job stays in
 *   Redis until its sample is recorded, so nothing a worker computed is lost if the coordinator dies.
 * - A worker killed mid-job leaves its job locked until the lock expires; BullMQ's stalled-job check in
 *   the other workers then puts it back in the queue for another worker.
 * - A job that fails `attempts` times (the worker's model cannot open, a worker crashes on it each
 *   time) is recorded as an error sample with the last reason; an analysis's own error on an item is
 *   already an error reply, as it is an error sample in a local run.
 */
import { Queue, QueueEvents, type Job } from 'bullmq';

import { FusionError } from '../../common/errors.ts';
import type { DatasetItem } from '../datasets/types.ts';
import type { PendingItem, SampleExecutor } from '../experiments/runner.ts';
import type { SampleInput } from '../store/sampleRows.ts';
import type { QueueAddress } from './address.ts';
import { bullConnection, connectRedis } from './connection.ts';
import { KEY_PREFIX, cancelKey, jobId, runKey, sampleQueueName } from './names.ts';
import { itemToWire, sampleOfReply, WIRE_VERSION, type SampleJob } from './wire.ts';
import { liveWorkers, unservedReason, type ServedModel, type WorkerStatus } from './workers.ts';

export interface QueuedRunOptions {
  readonly address: QueueAddress;
  /** The workspace database file: with the run's id and creation time, it keys the run's jobs. */
  readonly workspaceFile: string;
  readonly model: ServedModel;
  readonly kind: string;
  /** The analysis's settings, parsed and resolved (workers parse them again). */
  readonly config: unknown;
  /** The other items a sample reads (Analysis.companions), sent with it. */
  readonly companions: (item: DatasetItem) => readonly DatasetItem[];
  /** Jobs in the queue at once (default 32). */
  readonly window?: number;
  /** Tries per job before its sample is recorded as failed (default 3). */
  readonly attempts?: number;
  /** The live workers, when they change, and why none takes the run's jobs (null: some worker does). */
  readonly onWorkers?: (workers: readonly WorkerStatus[], unserved: string | null) => void;
}

export const DEFAULT_WINDOW = 32;
export const DEFAULT_ATTEMPTS = 3;
/** How often every job in flight is looked at, besides the queue's events (which a restart may miss). */
const SWEEP_MS = 1000;
const WORKERS_MS = 2000;
/** After a cancel, how long the workers get to stop their jobs before those are taken out of the queue. */
const CANCEL_GRACE_MS = 3000;

function wait(ms: number, signal: AbortSignal, wake: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
    void wake.then(done);
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function queuedExecutor<I extends DatasetItem>(options: QueuedRunOptions): SampleExecutor<unknown, I> {
  const window = options.window ?? DEFAULT_WINDOW;
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  const name = sampleQueueName(options.model.contentHash, options.model.precision);

  return async function* (pending, signal, run) {
    const redis = await connectRedis(options.address);
    const connection = bullConnection(options.address);
    const queue = new Queue(name, { connection, prefix: KEY_PREFIX });
    const events = new QueueEvents(name, { connection, prefix: KEY_PREFIX });
    queue.on('error', () => undefined);
    events.on('error', () => undefined);
    const key = runKey(options.workspaceFile, run.id, run.createdAt);
    const outstanding = new Map<string, PendingItem<I>>();
    const toCheck = new Set<string>();
    // A finished job's event resolves `woken`, which the loop renews before each look at the queue.
    let wakeUp: () => void = () => undefined;
    let woken: Promise<void>;
    const onFinished = ({ jobId: id }: { jobId: string }): void => {
      if (!outstanding.has(id)) return;
      toCheck.add(id);
      wakeUp();
    };
    events.on('completed', onFinished);
    events.on('failed', onFinished);

    let shownWorkers = '';
    const reportWorkers = async (): Promise<void> => {
      const workers = await liveWorkers(redis);
      const unserved = unservedReason(workers, options.model);
      const shown = JSON.stringify([workers.map((w) => [w.id, w.samples, w.busy]), unserved]);
      if (shown !== shownWorkers) options.onWorkers?.(workers, unserved);
      shownWorkers = shown;
    };

    const jobOf = async ({ item, position }: PendingItem<I>): Promise<SampleJob> => ({
      version: WIRE_VERSION,
      run: { key, id: run.id },
      kind: options.kind,
      config: options.config as SampleJob['config'],
      model: options.model,
      position,
      item: await itemToWire(item),
      companions: await Promise.all(options.companions(item).map(itemToWire)),
    });

    /** Puts the job in the queue unless it is there; a failed one (a cancel, an earlier coordinator's
     * retries run out) is taken out and tried again. */
    const enqueue = async (entry: PendingItem<I>): Promise<void> => {
      const id = jobId(key, entry.position);
      const state = await queue.getJobState(id);
      if (state === 'failed') await queue.remove(id);
      if (state === 'unknown' || state === 'failed') {
        await queue.add(options.kind, await jobOf(entry), {
          jobId: id,
          attempts,
          backoff: { type: 'fixed', delay: 500 },
          removeOnComplete: false,
          removeOnFail: false,
        });
      }
      outstanding.set(id, entry);
      toCheck.add(id);
    };

    /** The sample of a finished job, or null while it is not finished. */
    const finishedSample = async (id: string, entry: PendingItem<I>): Promise<SampleInput | null> => {
      const state = await queue.getJobState(id);
      if (state === 'unknown') {
        // Taken out of Redis by someone else (a flush, an obliterate): put back.
        await enqueue(entry);
        return null;
      }
      if (state !== 'completed' && state !== 'failed') return null;
      const job = (await queue.getJob(id)) as Job | undefined;
      if (!job) return null;
      const expected = { itemId: entry.item.id, position: entry.position };
      if (state === 'failed') {
        return {
          ...expected,
          status: 'error',
          error: `failed on the workers after ${job.attemptsMade} attempt(s): ${job.failedReason}`,
        };
      }
      try {
        return sampleOfReply(job.returnvalue, expected);
      } catch (error) {
        return { ...expected, status: 'error', error: messageOf(error) };
      }
    };

    const cancel = async (): Promise<void> => {
      await redis.set(cancelKey(key), '1', 'PX', 24 * 3600 * 1000);
      const deadline = Date.now() + CANCEL_GRACE_MS;
      while (outstanding.size > 0 && Date.now() < deadline) {
        for (const id of [...outstanding.keys()]) {
          const state = await queue.getJobState(id);
          // Waiting and delayed jobs go at once; an active one once its worker has stopped it.
          if (state === 'active') continue;
          await queue.remove(id).catch(() => 0);
          outstanding.delete(id);
        }
        if (outstanding.size > 0) await new Promise((r) => setTimeout(r, 100));
      }
    };

    /** The job whose sample was last yielded, until it is taken out of the queue. */
    let recorded: string | null = null;
    try {
      await redis.del(cancelKey(key));
      await events.waitUntilReady();
      await reportWorkers();
      let next = 0;
      let sweptAt = Date.now();
      let workersAt = Date.now();
      for (;;) {
        while (outstanding.size < window && next < pending.length && !signal.aborted) {
          const entry = pending[next++];
          try {
            await enqueue(entry);
          } catch (error) {
            if (error instanceof FusionError && error.code !== 'QUEUE') {
              // The item itself cannot be sent (its image unreadable): an error sample, as a local run records.
              yield {
                itemId: entry.item.id,
                position: entry.position,
                status: 'error',
                error: error.message,
              };
              continue;
            }
            throw error;
          }
        }
        if (signal.aborted) return;
        if (outstanding.size === 0 && next >= pending.length) return;
        const now = Date.now();
        if (now - sweptAt >= SWEEP_MS) {
          for (const id of outstanding.keys()) toCheck.add(id);
          sweptAt = now;
        }
        if (now - workersAt >= WORKERS_MS) {
          await reportWorkers();
          workersAt = now;
        }
        const checking = [...toCheck];
        toCheck.clear();
        woken = new Promise<void>((resolve) => (wakeUp = resolve));
        let yielded = false;
        for (const id of checking) {
          const entry = outstanding.get(id);
          if (!entry) continue;
          const sample = await finishedSample(id, entry);
          if (sample === null) continue;
          outstanding.delete(id);
          recorded = id;
          yield sample;
          yielded = true;
          // Recorded by now (the runner records before asking for more): the job may go.
          await queue.remove(id).catch(() => 0);
          recorded = null;
          if (signal.aborted) break;
        }
        if (!yielded && toCheck.size === 0) await wait(SWEEP_MS, signal, woken);
      }
    } catch (error) {
      if (error instanceof FusionError) throw error;
      throw new FusionError(
        'QUEUE',
        `the queued run stopped: ${messageOf(error)} (queue ${options.address.shown})`,
        {
          cause: error,
        },
      );
    } finally {
      // The runner stops asking at a cancel, right after recording a sample: that job goes too.
      if (recorded !== null) await queue.remove(recorded).catch(() => 0);
      if (signal.aborted) await cancel().catch(() => undefined);
      await Promise.allSettled([events.close(), queue.close()]);
      redis.disconnect();
    }
  };
}
