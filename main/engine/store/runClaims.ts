/**
 * One run per computation at a time, across processes. A runner acquires its run in one BEGIN IMMEDIATE
 * transaction, so two processes starting the same computation at the same moment cannot both create
 * (or both resume) a run: the first takes a claim (owner pid/host/start, a fresh token, a heartbeat),
 * the second finds that live claim and is told to follow the run instead of computing it again.
 *
 * A claim holds while its owner lives and beats (see owner.ts); a dead or silent one is taken over.
 * Every write a runner makes under its claim checks the token, so a runner whose claim was taken over
 * (it hung past STALE_AFTER_MS, then woke) stops instead of racing the new owner.
 */
import type Database from 'better-sqlite3';

import { FusionError } from '../../common/errors.ts';
import type { RunRow, RunStatus } from '../../common/runs.ts';
import { dropClaim } from './owner.ts';
import {
  insertClaimedRun,
  liveRunning,
  markAbandoned,
  newClaimToken,
  rawRun,
  REUSABLE,
  requireRunId,
  runningBy,
  runsOf,
  setClaim,
  toRow,
  type NewRun,
  type RawRun,
} from './runRows.ts';

/** A runner's hold on one run; every write under it is refused once another runner took the run over. */
export interface RunClaim {
  readonly runId: number;
  readonly token: string;
}

/** Acquire the run of a computation: its live run (to follow), else an earlier one (reuse), else a new one. */
export interface AcquireByIdentity {
  readonly identity: NewRun;
  /** Continue (or return, when done) the newest earlier run of the computation instead of a new one. */
  readonly reuse: boolean;
  readonly retryErrors: boolean;
}

/** Acquire one given run (the caller has checked it is the computation it wants). */
export interface AcquireById {
  readonly runId: number;
  readonly retryErrors: boolean;
}

export type Acquired =
  /** This runner computes the run; it must release the claim when it stops. */
  | { readonly outcome: 'claimed'; readonly run: RunRow; readonly claim: RunClaim }
  /** The run is done: nothing to compute. */
  | { readonly outcome: 'finished'; readonly run: RunRow }
  /** A live runner (`by`: 'this process' or 'process PID on HOST') is computing it: follow it. */
  | { readonly outcome: 'busy'; readonly run: RunRow; readonly by: string };

/** What a follower sees of a run: its row, whether a live runner still holds it, its newest sample. */
export interface ObservedRun {
  readonly run: RunRow;
  readonly live: boolean;
  readonly lastItemId: string | null;
}

/** Thrown by a write under a claim that no longer holds; the runner then follows the run instead. */
export class ClaimLostError extends FusionError {
  constructor(runId: number, by: string) {
    super('BUSY', `run ${runId} was taken over by ${by}; this runner stops computing it`);
    this.name = 'ClaimLostError';
  }
}

function needsWork(raw: RawRun, retryErrors: boolean): boolean {
  return raw.status !== 'done' || (retryErrors && raw.failed > 0);
}

/**
 * Decides inside the write transaction; `token` is already held, so a claim it takes is live from the
 * moment it commits.
 */
function decide(
  db: Database.Database,
  request: AcquireByIdentity | AcquireById,
  token: string,
): { outcome: Acquired['outcome']; runId: number; by?: string } {
  // Rows whose owner died read 'interrupted' from here on; every 'running' row left is live.
  markAbandoned(db);
  let target: RawRun | undefined;
  if ('runId' in request) {
    target = rawRun(db, requireRunId(request.runId));
    if (target === undefined) {
      throw new FusionError('BAD_ARGUMENT', `no run ${request.runId} in this workspace`);
    }
  } else {
    const { kind, model, dataset, config } = request.identity;
    const runs = runsOf(db, { kind, modelFingerprint: model.fingerprint, dataset, config });
    target =
      runs.find((raw) => raw.status === 'running') ??
      (request.reuse ? runs.find((raw) => REUSABLE.includes(raw.status)) : undefined);
    if (target === undefined) {
      return { outcome: 'claimed', runId: insertClaimedRun(db, request.identity, token) };
    }
  }
  if (liveRunning(target)) return { outcome: 'busy', runId: target.id, by: runningBy(target) };
  if (!needsWork(target, request.retryErrors)) return { outcome: 'finished', runId: target.id };
  setClaim(db, target.id, token);
  return { outcome: 'claimed', runId: target.id };
}

export function acquireRun(db: Database.Database, request: AcquireByIdentity | AcquireById): Acquired {
  const token = newClaimToken();
  let decided: ReturnType<typeof decide>;
  try {
    decided = db.transaction(() => decide(db, request, token)).immediate();
  } catch (error) {
    dropClaim(token);
    throw error;
  }
  if (decided.outcome !== 'claimed') dropClaim(token);
  const run = toRow(rawRun(db, decided.runId)!);
  switch (decided.outcome) {
    case 'claimed':
      return { outcome: 'claimed', run, claim: { runId: run.id, token } };
    case 'finished':
      return { outcome: 'finished', run };
    case 'busy':
      return { outcome: 'busy', run, by: decided.by! };
  }
}

/** Refreshes the claim's heartbeat; false when the claim no longer holds (taken over, or released). */
export function heartbeat(db: Database.Database, claim: RunClaim): boolean {
  return (
    db
      .prepare(`UPDATE runs SET heartbeat_at = ? WHERE id = ? AND claim_token = ? AND status = 'running'`)
      .run(Date.now(), requireRunId(claim.runId), claim.token).changes > 0
  );
}

/**
 * For writes under a claim, inside their transaction: refreshes the heartbeat, or throws ClaimLostError
 * when another runner holds the run now.
 */
export function requireClaim(db: Database.Database, claim: RunClaim): void {
  if (heartbeat(db, claim)) return;
  const raw = rawRun(db, claim.runId);
  if (raw === undefined) throw new FusionError('BAD_ARGUMENT', `no run ${claim.runId} in this workspace`);
  throw new ClaimLostError(claim.runId, raw.status === 'running' ? runningBy(raw) : 'another runner');
}

/**
 * Ends the claim with the run's new status (done, cancelled, failed). false, changing nothing, when the
 * claim no longer holds: the runner that took the run over decides its status.
 */
export function releaseRun(
  db: Database.Database,
  claim: RunClaim,
  status: Exclude<RunStatus, 'running'>,
  error?: string,
): boolean {
  try {
    return (
      db
        .prepare(
          `UPDATE runs SET status = ?, error = ?, claim_token = NULL, updated_at = ?
           WHERE id = ? AND claim_token = ? AND status = 'running'`,
        )
        .run(status, error ?? null, Date.now(), requireRunId(claim.runId), claim.token).changes > 0
    );
  } finally {
    dropClaim(claim.token);
  }
}

/** The run as a follower sees it; undefined once it was deleted. */
export function observeRun(db: Database.Database, runId: number): ObservedRun | undefined {
  const raw = rawRun(db, requireRunId(runId));
  if (raw === undefined) return undefined;
  const last = db
    .prepare('SELECT item_id FROM samples WHERE run_id = ? ORDER BY id DESC LIMIT 1')
    .pluck()
    .get(runId) as string | undefined;
  return { run: toRow(raw), live: liveRunning(raw), lastItemId: last ?? null };
}

/** Forgets this process's hold on a claim whose runner stopped without releasing it (claim lost, store failing). */
export function forgetClaim(claim: RunClaim): void {
  dropClaim(claim.token);
}
