/**
 * The names coordinator and workers agree on in Redis. Jobs go to one queue per model checkpoint and
 * precision, so a worker only ever takes samples of a checkpoint it holds: a folder of the same name with
 * other weights has another content hash, hence another queue.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';

import type { Precision } from '../../../native-models/onnx/storage.ts';

/** BullMQ's key prefix and ours: every key FusionScope writes starts with it. */
export const KEY_PREFIX = 'fusionscope';

/** How a checkpoint is named to people (workers' lists, refusals): its hub id, else its folder's name. */
export function checkpointName(folder: string, hub: { readonly repoId: string } | null): string {
  return hub?.repoId ?? basename(folder);
}

export function sampleQueueName(contentHash: string, precision: Precision): string {
  return `samples-${contentHash.slice(0, 24)}-${precision}`;
}

/** A live worker's facts, refreshed while it runs and expiring when it stops (workers.ts). */
export function workerKey(workerId: string): string {
  return `${KEY_PREFIX}:workers:${workerId}`;
}
export const WORKER_KEY_PATTERN = `${KEY_PREFIX}:workers:*`;

/** Set when a run is cancelled: workers stop that run's samples in flight. */
export function cancelKey(runKey: string): string {
  return `${KEY_PREFIX}:cancelled:${runKey}`;
}

/**
 * A run's key in the queue: the same for the same run of the same workspace, across coordinator
 * restarts (so its jobs are found again), and different for any other run anywhere.
 */
export function runKey(workspaceFile: string, runId: number, createdAt: number): string {
  return createHash('sha256').update(`${workspaceFile}\0${runId}\0${createdAt}`).digest('hex').slice(0, 32);
}

/** One job per (run, item position): adding it again is a no-op, which makes enqueueing idempotent. */
export function jobId(key: string, position: number): string {
  return `${key}-${position}`;
}
