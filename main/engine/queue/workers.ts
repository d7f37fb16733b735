/**
 * Live workers: each writes its facts under its own key with a short expiry and refreshes them while it
 * runs, so a killed worker disappears from the list within WORKER_TTL_MS. The coordinator and the app
 * read the list to show who computes, and to say so when no live worker holds the run's checkpoint.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';

import { PRECISIONS } from '../../../native-models/onnx/storage.ts';
import { WORKER_KEY_PATTERN, workerKey } from './names.ts';
import { workerFactsSchema } from './wire.ts';

export const WORKER_TTL_MS = 6000;
export const WORKER_REFRESH_MS = 2000;

const servedModelSchema = z.strictObject({
  name: z.string().max(255),
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  precision: z.enum(PRECISIONS),
});
export type ServedModel = z.infer<typeof servedModelSchema>;

export const workerStatusSchema = workerFactsSchema.extend({
  models: z.array(servedModelSchema).max(100),
  concurrency: z.number().int().min(1),
  startedAt: z.number(),
  /** Samples replied (ok or error), and jobs that failed on this worker. */
  samples: z.number().int().min(0),
  failures: z.number().int().min(0),
  /** Jobs in progress now. */
  busy: z.number().int().min(0),
  meanSampleMs: z.number().nullable(),
});
export type WorkerStatus = z.infer<typeof workerStatusSchema>;

export async function publishWorker(redis: Redis, status: WorkerStatus): Promise<void> {
  await redis.set(workerKey(status.id), JSON.stringify(status), 'PX', WORKER_TTL_MS);
}

export async function withdrawWorker(redis: Redis, workerId: string): Promise<void> {
  await redis.del(workerKey(workerId));
}

/** The workers alive now, sorted by id; entries that fail the schema are skipped. */
export async function liveWorkers(redis: Redis): Promise<WorkerStatus[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', WORKER_KEY_PATTERN, 'COUNT', 200);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0' && keys.length < 10_000);
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  const workers: WorkerStatus[] = [];
  for (const value of values) {
    if (value === null) continue;
    try {
      const parsed = workerStatusSchema.safeParse(JSON.parse(value));
      if (parsed.success) workers.push(parsed.data);
    } catch {
      // Not JSON: not one of ours.
    }
  }
  return workers.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Why no live worker takes a run's jobs, or null when some worker serves its checkpoint: names the
 * workers holding a checkpoint of the same name with other weights, or another precision.
 */
export function unservedReason(workers: readonly WorkerStatus[], model: ServedModel): string | null {
  const serves = (m: ServedModel) => m.contentHash === model.contentHash && m.precision === model.precision;
  if (workers.some((w) => w.models.some(serves))) return null;
  const wanted = `${model.name} (content ${model.contentHash.slice(0, 12)}…, precision ${model.precision})`;
  if (workers.length === 0)
    return `no worker is live on this queue; start one with: fusionscope worker --queue URL --model ${model.name}`;
  const near = workers.flatMap((w) =>
    w.models
      .filter((m) => m.name === model.name || m.contentHash === model.contentHash)
      .map((m) =>
        m.contentHash !== model.contentHash
          ? `${w.id} holds ${m.name} with other weights (content ${m.contentHash.slice(0, 12)}…): refused`
          : `${w.id} holds it at precision ${m.precision}`,
      ),
  );
  return `none of the ${workers.length} live worker(s) holds ${wanted}${near.length ? `; ${near.join('; ')}` : ''}`;
}
