/**
 * Runs one computation over every item of a dataset and stores each item's outcome as soon as it is
 * known, so a run killed at any moment resumes where it stopped. Independent of what is computed: sweeps,
 * attention evolution and contrastive attention each supply a `perSample`.
 *
 * Items are computed one at a time, in dataset order: a model pass already uses every core, and one
 * item in flight means a cancel or a kill loses at most one item's work.
 *
 * One computation has one runner at a time, across processes: a second identical start (or a second
 * resume of the same run) follows the runner already at work, reporting its progress, and returns its
 * outcome; if that runner stops before the run is done (killed, cancelled, hung), the follower takes
 * the run over and finishes it. The claims behind this live in the store (store/runClaims.ts).
 */
import { FusionError } from '../../common/errors.ts';
import type { Provenance, RunKind, RunProgress, RunRow, SampleOutput } from '../../common/runs.ts';
import { canonicalJson } from '../store/canonicalJson.ts';
import { itemsHash } from '../store/fingerprint.ts';
import { HEARTBEAT_MS } from '../store/owner.ts';
import { forgetClaim } from '../store/runClaims.ts';
import { checkSample, type SampleInput } from '../store/sampleRows.ts';
import {
  ClaimLostError,
  type Acquired,
  type DatasetRef,
  type ModelRef,
  type Workspace,
} from '../store/workspace.ts';

export interface DatasetItem {
  readonly id: string;
}

export interface RunSpec<R, I extends DatasetItem = DatasetItem> {
  readonly kind: RunKind;
  readonly model: ModelRef;
  readonly dataset: {
    readonly path: string;
    readonly format: string;
    readonly name: string;
    readonly items: readonly I[];
  };
  /** What the computation depends on besides model and items; runs resume only with an equal config. */
  readonly config: unknown;
  /**
   * A stored run's config as this spec's config would be written (defaults filled), so a run recorded
   * before its analysis gained a setting still resumes by id. Default: as stored.
   */
  readonly normalizeConfig?: (stored: unknown) => unknown;
  /** Recorded with a new run. */
  readonly provenance?: Provenance;
  /** Computes one item. Should stop (throw) soon after `signal` aborts. */
  readonly perSample: (item: I, signal: AbortSignal) => Promise<SampleOutput<R>>;
  /**
   * Who computes the items a run lacks: default, this process, one at a time (`computeHere`); a queued
   * run hands them to workers (main/engine/queue/coordinator.ts).
   */
  readonly executor?: SampleExecutor<R, I>;
}

/** An item a run still lacks, at its position in the dataset. */
export interface PendingItem<I extends DatasetItem = DatasetItem> {
  readonly item: I;
  readonly position: number;
}

/**
 * Computes `pending` and yields each item's sample as soon as it is known, in any order; ends when all
 * are yielded or `signal` aborts (a result that arrives after the abort is not yielded: the resume
 * computes it). The runner records each sample before asking for the next, so an executor may drop what
 * it holds for a sample once it is asked for the next one. `run` names the run for executors that must
 * address its items across restarts.
 */
export type SampleExecutor<R, I extends DatasetItem = DatasetItem> = (
  pending: readonly PendingItem<I>[],
  signal: AbortSignal,
  run: RunRow,
) => AsyncIterable<SampleInput<R>>;

/** Sent when the computation is already being run by someone else and this call follows that run. */
export interface RunAttach {
  readonly runId: number;
  /** 'this process' or 'process PID on HOST' (read from the workspace: quote it as untrusted text). */
  readonly by: string;
}

export interface RunOptions {
  /**
   * A run id to continue, or 'auto': the newest run with the same identity (resumed if unfinished,
   * returned as is if done), else a new one. Left out: a new run, unless the same computation is
   * running right now, which is then followed rather than computed twice.
   */
  readonly resume?: number | 'auto';
  /** Cancels this call: the run it computes stops (resumable); a run it follows goes on without it. */
  readonly signal?: AbortSignal;
  /** Progress of the run computed or followed. */
  readonly onProgress?: (event: RunProgress) => void;
  /** Called each time this call starts following a run another runner computes. */
  readonly onAttach?: (event: RunAttach) => void;
  /** Compute again the items whose sample is an error (e.g. after fixing a transient cause). */
  readonly retryErrors?: boolean;
}

export interface RunOutcome {
  readonly runId: number;
  readonly status: 'done' | 'cancelled';
}

/** Sample durations the ETA averages over: recent enough to follow a slowdown, enough to be steady. */
const ETA_WINDOW = 10;

/** How often a follower reads the run it follows: fresh progress, and a prompt takeover if its runner dies. */
const FOLLOW_POLL_MS = 200;

function checkItems(items: readonly DatasetItem[]): string[] {
  const ids = items.map((item) => item?.id);
  const seen = new Set<string>();
  for (const id of ids) {
    if (typeof id !== 'string') {
      throw new FusionError('BAD_ARGUMENT', `dataset item ids must be strings, got ${JSON.stringify(id)}`);
    }
    if (seen.has(id)) throw new FusionError('BAD_ARGUMENT', `dataset has item id '${id}' twice`);
    seen.add(id);
  }
  return ids;
}

/** What makes two runs the same computation (with the dataset's items). */
type Identity = Pick<RunSpec<unknown>, 'kind' | 'model' | 'config' | 'normalizeConfig' | 'provenance'>;

/** Why `run` cannot continue `spec`, or null when it can. */
function mismatch(run: RunRow, spec: Identity, dataset: DatasetRef): string | null {
  if (run.kind !== spec.kind) return `it is a ${run.kind} run, not ${spec.kind}`;
  if (run.model.fingerprint !== spec.model.fingerprint) return 'its model has a different fingerprint';
  if (run.dataset.itemsHash !== itemsHash(dataset.itemIds)) return 'its dataset holds different items';
  const stored = spec.normalizeConfig ? spec.normalizeConfig(run.config) : run.config;
  if (canonicalJson(stored) !== canonicalJson(spec.config ?? null)) return 'its config differs';
  return null;
}

/**
 * What `target` names: one run (an id: the caller's resume, or a run just followed), or the computation
 * itself ('auto': reuse its newest run; undefined: a new run unless one is running).
 */
function acquire(
  workspace: Workspace,
  spec: Identity,
  dataset: DatasetRef,
  target: number | 'auto' | undefined,
  retryErrors: boolean,
): Acquired {
  if (typeof target === 'number') {
    const run = workspace.getRun(target);
    const why = mismatch(run, spec, dataset);
    if (why !== null) throw new FusionError('BAD_ARGUMENT', `cannot resume run ${run.id}: ${why}`);
    return workspace.acquireRun({ runId: run.id, retryErrors });
  }
  const { kind, model, config, provenance } = spec;
  const identity = { kind, model, dataset, config, provenance };
  return workspace.acquireRun({ identity, reuse: target === 'auto', retryErrors });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** ETA from a moving average of the last few sample durations. */
export class RecentDurations {
  private readonly recent: number[] = [];

  constructor(private readonly window = ETA_WINDOW) {}

  add(ms: number): void {
    this.recent.push(ms);
    if (this.recent.length > this.window) this.recent.shift();
  }

  etaSeconds(remaining: number): number | null {
    if (this.recent.length === 0) return null;
    const mean = this.recent.reduce((a, b) => a + b, 0) / this.recent.length;
    return (mean * remaining) / 1000;
  }
}

/**
 * Computes one item: the sample to record, or null when the run was cancelled meanwhile. A throw (or
 * output the store would refuse) becomes an error sample, so one bad item never stops the run.
 */
async function computeSample<R, I extends DatasetItem>(
  perSample: RunSpec<R, I>['perSample'],
  item: I,
  position: number,
  signal: AbortSignal,
): Promise<SampleInput<R> | null> {
  const started = performance.now();
  let sample: SampleInput<R>;
  try {
    const output = await perSample(item, signal);
    const { result, metrics, arrays } = output;
    sample = { itemId: item.id, position, status: 'ok', result, metrics, arrays };
    checkSample(sample);
  } catch (error) {
    if (signal.aborted) return null;
    sample = { itemId: item.id, position, status: 'error', error: messageOf(error) };
  }
  // A result that completes after cancel may have been cut short by it: not kept; resume computes it.
  if (signal.aborted) return null;
  return { ...sample, durationMs: performance.now() - started };
}

/** The default executor: this process computes the items one after another, in dataset order. */
export function computeHere<R, I extends DatasetItem>(
  perSample: RunSpec<R, I>['perSample'],
): SampleExecutor<R, I> {
  return async function* (pending, signal) {
    for (const { item, position } of pending) {
      if (signal.aborted) return;
      const sample = await computeSample(perSample, item, position, signal);
      if (sample === null) return;
      yield sample;
    }
  };
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Follows a run another runner computes, reporting its progress from the rows it writes, until no live
 * runner holds it ('stopped': done, or left for us to continue), it is deleted ('gone'), or `signal`
 * aborts ('cancelled': the run goes on without us).
 */
async function followRun(
  workspace: Workspace,
  run: RunRow,
  signal: AbortSignal,
  onProgress: RunOptions['onProgress'],
): Promise<'stopped' | 'gone' | 'cancelled'> {
  const eta = new RecentDurations();
  let seen = run;
  let changedAt = performance.now();
  const emit = (row: RunRow, itemId: string | null): void =>
    onProgress?.({
      runId: row.id,
      done: row.done,
      total: row.total,
      failed: row.failed,
      etaSeconds: eta.etaSeconds(row.total - row.done),
      itemId,
    });
  emit(run, null);
  for (;;) {
    if (!(await pause(FOLLOW_POLL_MS, signal))) return 'cancelled';
    const observed = workspace.observeRun(run.id);
    if (observed === undefined) return 'gone';
    const now = observed.run;
    if (now.done !== seen.done || now.failed !== seen.failed) {
      // Per-item time as the follower sees it: the time between changes over the items they brought.
      const added = now.done - seen.done;
      const at = performance.now();
      for (let i = 0; i < added; i++) eta.add((at - changedAt) / added);
      changedAt = at;
      seen = now;
      emit(now, observed.lastItemId);
    }
    if (!observed.live) return 'stopped';
  }
}

/**
 * Computes the items a claimed run lacks. 'lost' when another runner took the run over meanwhile (this
 * one hung past the claim's lifetime): nothing more is written, and the caller follows the run instead.
 */
async function computeRun<R, I extends DatasetItem>(
  workspace: Workspace,
  spec: RunSpec<R, I>,
  acquired: Extract<Acquired, { outcome: 'claimed' }>,
  signal: AbortSignal,
  options: RunOptions,
): Promise<RunOutcome | 'lost'> {
  const { claim } = acquired;
  const { runId } = claim;
  // A lost claim also stops the item in flight: the runner that took over computes it.
  const lost = new AbortController();
  const stop = AbortSignal.any([signal, lost.signal]);
  const beat = setInterval(() => {
    try {
      if (!workspace.heartbeat(claim)) lost.abort();
    } catch {
      // The store is failing; the next recordSample reports it with its cause.
    }
  }, HEARTBEAT_MS);
  beat.unref();
  const eta = new RecentDurations();
  try {
    let run = acquired.run;
    if (options.retryErrors) {
      workspace.clearErrors(runId);
      run = workspace.getRun(runId);
    }
    let { done, failed } = run;
    const { total } = run;
    const emit = (itemId: string | null): void =>
      options.onProgress?.({ runId, done, total, failed, etaSeconds: eta.etaSeconds(total - done), itemId });
    const completed = workspace.completedItems(runId);
    emit(null);
    const pending = [...spec.dataset.items.entries()]
      .filter(([, item]) => !completed.has(item.id))
      .map(([position, item]) => ({ item, position }));
    const execute = spec.executor ?? computeHere(spec.perSample);
    // Wall time between samples, not each sample's own duration: executors may compute several at once.
    let last = performance.now();
    for await (const sample of execute(pending, stop, run)) {
      if (workspace.recordSample(runId, sample, claim)) {
        done += 1;
        if (sample.status === 'error') failed += 1;
      }
      const now = performance.now();
      eta.add(now - last);
      last = now;
      emit(sample.itemId);
      if (stop.aborted) break;
    }
    if (lost.signal.aborted) return 'lost';
    const finished = workspace.completedItems(runId).size === total;
    const status = finished ? 'done' : 'cancelled';
    if (!workspace.releaseRun(claim, status)) return 'lost';
    return { runId, status };
  } catch (error) {
    if (error instanceof ClaimLostError) return 'lost';
    // Storage failures and bugs: the samples recorded so far stay; the run can be resumed later.
    try {
      workspace.releaseRun(claim, 'failed', messageOf(error));
    } catch {
      // The store itself is failing; the original error says more.
    }
    throw error;
  } finally {
    clearInterval(beat);
    forgetClaim(claim);
  }
}

export async function runOverDataset<R, I extends DatasetItem = DatasetItem>(
  workspace: Workspace,
  spec: RunSpec<R, I>,
  options: RunOptions = {},
): Promise<RunOutcome> {
  const itemIds = checkItems(spec.dataset.items);
  const { path, format, name } = spec.dataset;
  const dataset: DatasetRef = { path, format, name, itemIds };
  const signal = options.signal ?? new AbortController().signal;
  const retryErrors = options.retryErrors ?? false;
  let target = options.resume;
  for (;;) {
    const acquired = acquire(workspace, spec, dataset, target, retryErrors);
    const runId = acquired.run.id;
    if (acquired.outcome === 'finished') return { runId, status: 'done' };
    if (acquired.outcome === 'claimed') {
      const outcome = await computeRun(workspace, spec, acquired, signal, options);
      if (outcome !== 'lost') return outcome;
    } else {
      options.onAttach?.({ runId, by: acquired.by });
      const followed = await followRun(workspace, acquired.run, signal, options.onProgress);
      if (followed === 'cancelled') return { runId, status: 'cancelled' };
      if (followed === 'gone') {
        target = options.resume;
        continue;
      }
    }
    // Its runner stopped (or took it from us): the same run is now done, ours to continue, or followed.
    target = runId;
  }
}
