/**
 * A queue worker: takes sample jobs for the checkpoints it holds, computes each with the analysis of its
 * own registry, and replies with the sample. It listens only on the queues of its checkpoints (by
 * content hash and precision, names.ts), opens a model at its first job, and refuses a job whose model
 * differs from the queue's (a hand-made or stale job): that job fails at once, naming both checkpoints.
 *
 * A job's analysis error on its item is a reply (an error sample, as a local run records it); what
 * stops the worker from computing at all (a malformed job, a refused model, a model that will not open)
 * fails the job, which BullMQ retries or, once out of attempts, the coordinator records as failed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';

import { FusionError } from '../../common/errors.ts';
import type { Precision } from '../../../native-models/onnx/storage.ts';
import { analysisOf } from '../analyses/registry.ts';
import { boundsOf } from '../experiments/experiment.ts';
import { modelContentHash } from '../model/contentHash.ts';
import { defaultModelCacheDir } from '../model/modelCache.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { resolveModelFolder } from '../model/resolveModelFolder.ts';
import type { ProviderRequest } from '../runtime/providers.ts';
import { checkSample } from '../store/sampleRows.ts';
import type { QueueAddress } from './address.ts';
import { bullConnection, connectRedis } from './connection.ts';
import { KEY_PREFIX, cancelKey, checkpointName, sampleQueueName } from './names.ts';
import {
  issuesText,
  itemFromWire,
  replyOf,
  sampleJobSchema,
  type SampleReply,
  type WireItem,
  type WorkerFacts,
} from './wire.ts';
import {
  publishWorker,
  withdrawWorker,
  WORKER_REFRESH_MS,
  type ServedModel,
  type WorkerStatus,
} from './workers.ts';

export interface WorkerOptions {
  readonly address: QueueAddress;
  /** Model folders or hub ids this worker may open: the only ones it takes jobs for. */
  readonly models: readonly string[];
  readonly revision?: string;
  readonly provider?: ProviderRequest;
  /** How weights are held (default auto); jobs of runs at another precision are not taken. */
  readonly precision?: Precision;
  /** Jobs computed at once on the worker's models (default 1: a model pass already uses every core). */
  readonly concurrency?: number;
  readonly cacheDir?: string;
  readonly threads?: number;
  /** A job's lock: a worker silent for this long is taken as dead and its job given to another. */
  readonly lockMs?: number;
  /** How often the stalled-job check runs. */
  readonly stalledCheckMs?: number;
  readonly id?: string;
  readonly log?: (line: string) => void;
}

export interface RunningWorker {
  readonly id: string;
  readonly served: readonly ServedModel[];
  /** Stops taking jobs, lets the jobs in flight finish, and leaves the list of live workers. */
  close(): Promise<void>;
}

const DEFAULT_LOCK_MS = 30_000;
const CANCEL_POLL_MS = 500;

interface Held {
  readonly requested: string;
  readonly folder: string;
  readonly served: ServedModel;
  model?: Promise<LoadedModel>;
}

/** What the job's accelerator is called, where the system says; the CPU's name on the CPU. */
function cardName(provider: string): string | null {
  if (provider === 'cuda') {
    try {
      const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], {
        encoding: 'utf8',
        timeout: 3000,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      return out.split('\n')[0]?.trim() || null;
    } catch {
      return null;
    }
  }
  return provider === 'cpu' ? (cpus()[0]?.model.trim() ?? null) : null;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const log = options.log ?? (() => undefined);
  const cacheDir = options.cacheDir ?? defaultModelCacheDir();
  const precision = options.precision ?? 'auto';
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new FusionError('BAD_ARGUMENT', `--concurrency must be an integer 1-64, got ${concurrency}`);
  }
  if (options.models.length === 0)
    throw new FusionError('BAD_ARGUMENT', 'a worker needs at least one --model');
  const held: Held[] = [];
  for (const requested of options.models) {
    const { folder, hub } = await resolveModelFolder(requested, { revision: options.revision });
    const contentHash = await modelContentHash(folder, cacheDir);
    held.push({ requested, folder, served: { name: checkpointName(folder, hub), contentHash, precision } });
  }
  const redis: Redis = await connectRedis(options.address);
  const id = options.id ?? `${hostname()}-${process.pid}`;
  const facts: WorkerFacts = {
    id,
    host: hostname(),
    pid: process.pid,
    provider: 'not opened yet',
    card: null,
  };
  const stats = { samples: 0, failures: 0, busy: 0, totalMs: 0 };
  const startedAt = Date.now();
  const status = (): WorkerStatus => ({
    ...facts,
    models: held.map((h) => h.served),
    concurrency,
    startedAt,
    samples: stats.samples,
    failures: stats.failures,
    busy: stats.busy,
    meanSampleMs: stats.samples ? stats.totalMs / stats.samples : null,
  });
  const publish = () => publishWorker(redis, status()).catch(() => undefined);
  await publish();
  const beat = setInterval(() => void publish(), WORKER_REFRESH_MS);

  const open = (entry: Held): Promise<LoadedModel> => {
    entry.model ??= openModel(entry.folder, {
      provider: options.provider,
      precision,
      cacheDir,
      threads: options.threads,
    }).then(
      (model) => {
        facts.provider = model.provider.provider;
        facts.card = cardName(model.provider.provider);
        log(
          `opened ${entry.served.name} on ${model.provider.provider}${facts.card ? ` (${facts.card})` : ''}`,
        );
        return model;
      },
      (error: unknown) => {
        entry.model = undefined; // the next job tries again (the cause may be transient: memory, disk)
        throw error;
      },
    );
    return entry.model;
  };

  const materialize = async (dir: string, items: readonly WireItem[]) =>
    Promise.all(
      items.map(async (wire, index) => {
        const path = join(dir, `${index}-${wire.image.name}`);
        await writeFile(path, Buffer.from(wire.image.base64, 'base64'));
        return itemFromWire(wire, path);
      }),
    );

  const compute = async (entry: Held, job: Job): Promise<SampleReply> => {
    const parsed = sampleJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed job: ${issuesText(parsed.error)}`);
    const data = parsed.data;
    const mine = entry.served;
    if (data.model.contentHash !== mine.contentHash || data.model.precision !== mine.precision) {
      throw new UnrecoverableError(
        `refused: the job is for ${data.model.name} (content ${data.model.contentHash.slice(0, 12)}…, precision ${data.model.precision}); ` +
          `this worker's ${mine.name} is content ${mine.contentHash.slice(0, 12)}…, precision ${mine.precision}`,
      );
    }
    if ((await redis.exists(cancelKey(data.run.key))) === 1)
      throw new UnrecoverableError('cancelled: the run was cancelled');
    let analysis;
    let config;
    try {
      analysis = analysisOf(data.kind);
      config = analysis.parseConfig(data.config);
    } catch (error) {
      throw new UnrecoverableError(`refused: ${messageOf(error)}`);
    }
    const model = await open(entry);
    analysis.check(config, boundsOf(model));
    const controller = new AbortController();
    const watch = setInterval(() => {
      void redis.exists(cancelKey(data.run.key)).then(
        (cancelled) =>
          cancelled === 1 && controller.abort(new FusionError('CANCELLED', 'the run was cancelled')),
        () => undefined,
      );
    }, CANCEL_POLL_MS);
    const dir = await mkdtemp(join(tmpdir(), 'fusionscope-job-'));
    const started = performance.now();
    stats.busy += 1;
    void publish(); // who is busy is what an operator (and the fault tests) look at
    try {
      const [item, ...companions] = await materialize(dir, [data.item, ...data.companions]);
      log(`run ${data.run.id} item ${JSON.stringify(item.id).slice(0, 80)}: started`);
      let sample: Parameters<typeof replyOf>[0];
      try {
        const output = await analysis.perSample(model, item, config, controller.signal, {
          items: [item, ...companions],
        });
        sample = { itemId: item.id, status: 'ok', ...output };
        checkSample({ ...sample, position: data.position });
      } catch (error) {
        if (controller.signal.aborted) throw new UnrecoverableError('cancelled: the run was cancelled');
        sample = { itemId: item.id, status: 'error', error: messageOf(error) };
      }
      const ms = performance.now() - started;
      stats.samples += 1;
      stats.totalMs += ms;
      log(
        `run ${data.run.id} item ${JSON.stringify(item.id).slice(0, 80)}: ${sample.status} in ${Math.round(ms)} ms`,
      );
      return replyOf(sample, ms, facts);
    } finally {
      stats.busy -= 1;
      void publish();
      clearInterval(watch);
      await rm(dir, { recursive: true, force: true });
    }
  };

  const lockDuration = options.lockMs ?? DEFAULT_LOCK_MS;
  const workers = held.map((entry) => {
    const worker = new Worker(
      sampleQueueName(entry.served.contentHash, precision),
      (job) => compute(entry, job),
      {
        connection: bullConnection(options.address),
        prefix: KEY_PREFIX,
        concurrency,
        lockDuration,
        stalledInterval: options.stalledCheckMs ?? lockDuration,
        maxStalledCount: 2,
      },
    );
    worker.on('failed', (job, error) => {
      stats.failures += 1;
      log(`job ${job?.id ?? '?'} failed: ${error.message}`);
    });
    worker.on('error', (error) => log(`queue error: ${error.message}`));
    return worker;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  for (const entry of held) {
    log(
      `serving ${entry.served.name} (content ${entry.served.contentHash.slice(0, 12)}…, precision ${precision}) from ${entry.folder}`,
    );
  }

  let closing: Promise<void> | undefined;
  return {
    id,
    served: held.map((h) => h.served),
    close() {
      closing ??= (async () => {
        clearInterval(beat);
        await Promise.allSettled(workers.map((w) => w.close()));
        await withdrawWorker(redis, id).catch(() => undefined);
        redis.disconnect();
        await Promise.allSettled(held.map(async (h) => (h.model ? (await h.model).close() : undefined)));
      })();
      return closing;
    },
  };
}
