/**
 * The backend's door to job queues (main/engine/queue): the live workers of a queue, and the engine's
 * worker records as the API shows them. The queue client (ioredis, BullMQ) is loaded at the first
 * listing, never while the app starts: most sessions never use a queue.
 */
import type { WorkerView, WorkersView } from '../common/api/index.ts';
import { FusionError } from '../common/errors.ts';
import type { QueueAddress } from '../engine/queue/address.ts';
import type { WorkerStatus } from '../engine/queue/workers.ts';

/**
 * A worker's record as the API shows it: field by field, so the view never carries what a newer
 * worker adds to its record, and a renamed field fails to compile here rather than vanish in the app.
 */
export function workerView(status: WorkerStatus): WorkerView {
  return {
    id: status.id,
    host: status.host,
    pid: status.pid,
    provider: status.provider,
    card: status.card,
    models: status.models.map(({ name, contentHash, precision }) => ({ name, contentHash, precision })),
    concurrency: status.concurrency,
    samples: status.samples,
    failures: status.failures,
    busy: status.busy,
    meanSampleMs: status.meanSampleMs,
    startedAt: status.startedAt,
  };
}

/** The workers live on the queue now; QUEUE (naming the queue and why) when it cannot be read. */
export async function listQueueWorkers(address: QueueAddress): Promise<WorkersView> {
  const [{ connectRedis }, { liveWorkers }] = await Promise.all([
    import('../engine/queue/connection.ts'),
    import('../engine/queue/workers.ts'),
  ]);
  const redis = await connectRedis(address);
  try {
    return { queue: address.shown, workers: (await liveWorkers(redis)).map(workerView) };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new FusionError('QUEUE', `cannot list the workers on ${address.shown}: ${why.slice(0, 300)}`, {
      cause: error,
    });
  } finally {
    redis.disconnect();
  }
}
