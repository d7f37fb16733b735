/**
 * A workspace: one folder holding `fusionscope.sqlite`, the runs made there and everything they
 * computed. Opening it marks the runs of dead processes 'interrupted', so they show as resumable.
 * Workspaces of several processes (the app, CLI runs) may share one folder: runs are claimed so that
 * one computation has one runner at a time (runClaims.ts).
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type Database from 'better-sqlite3';

import { FusionError } from '../../common/errors.ts';
import type {
  LayerCurvePoint,
  LayerMetricValue,
  RunRow,
  RunStatus,
  SampleRow,
  StoredArray,
} from '../../common/runs.ts';
import { openDatabase, openDatabaseReadOnly } from './db.ts';
import * as claims from './runClaims.ts';
import type { AcquireById, AcquireByIdentity, Acquired, ObservedRun, RunClaim } from './runClaims.ts';
import * as runs from './runRows.ts';
import type { NewRun, RunFilter, RunMatch } from './runRows.ts';
import * as samples from './sampleRows.ts';
import type { SampleInput } from './sampleRows.ts';

export type { DatasetRef, ModelRef, NewRun, RunFilter, RunMatch } from './runRows.ts';
export type { AcquireById, AcquireByIdentity, Acquired, ObservedRun, RunClaim } from './runClaims.ts';
export { ClaimLostError } from './runClaims.ts';
export type { SampleInput } from './sampleRows.ts';

export const DATABASE_FILE = 'fusionscope.sqlite';

export class Workspace {
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly file: string,
    private readonly database: Database.Database,
    /** Runs found 'running' under a dead process when the workspace was opened. */
    readonly interruptedOnOpen: readonly number[],
    /** Closes the connection (and, read-only, removes the snapshot it may read). */
    private readonly release: () => void = () => database.close(),
  ) {}

  /** Creates `dir` and its database if needed. */
  static open(dir: string): Workspace {
    const folder = resolve(dir);
    try {
      mkdirSync(folder, { recursive: true });
    } catch (error) {
      throw new FusionError('STORE', `cannot create workspace folder ${folder}`, { cause: error });
    }
    const file = join(folder, DATABASE_FILE);
    const db = openDatabase(file);
    try {
      return new Workspace(folder, file, db, runs.markInterrupted(db));
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * For reading (listing runs): as open() when this process can write the workspace, else read-only
   * (a shared or read-only folder): nothing is created, migrated or marked, and a write fails.
   */
  static openForReading(dir: string): Workspace {
    const folder = resolve(dir);
    const file = join(folder, DATABASE_FILE);
    if (!existsSync(folder) || writable(folder, file)) return Workspace.open(folder);
    const { db, close } = openDatabaseReadOnly(file);
    return new Workspace(folder, file, db, [], close);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }

  private get db(): Database.Database {
    if (this.closed) throw new FusionError('STORE', `workspace ${this.dir} is closed`);
    return this.database;
  }

  createRun(run: NewRun): RunRow {
    return runs.createRun(this.db, run);
  }

  findRun(runId: number): RunRow | undefined {
    return runs.findRun(this.db, runId);
  }

  /** Like findRun, but a missing run is a BAD_ARGUMENT error. */
  getRun(runId: number): RunRow {
    return runs.getRun(this.db, runId);
  }

  listRuns(filter?: RunFilter): RunRow[] {
    return runs.listRuns(this.db, filter);
  }

  deleteRun(runId: number): boolean {
    return runs.deleteRun(this.db, runId);
  }

  markRun(runId: number, status: RunStatus, error?: string): RunRow {
    return runs.markRun(this.db, runId, status, error);
  }

  /** Re-checks 'running' runs now (owners may have died since open); returns the ids marked. */
  markInterrupted(): number[] {
    return runs.markInterrupted(this.db);
  }

  findResumable(match: RunMatch): RunRow | undefined {
    return runs.findResumable(this.db, match);
  }

  claimRun(runId: number): RunRow {
    return runs.claimRun(this.db, runId);
  }

  /** The run to compute, to return as done, or to follow; atomic across processes (runClaims.ts). */
  acquireRun(request: AcquireByIdentity | AcquireById): Acquired {
    return claims.acquireRun(this.db, request);
  }

  /** Keeps a claim alive; false once it no longer holds. */
  heartbeat(claim: RunClaim): boolean {
    return claims.heartbeat(this.db, claim);
  }

  /** Ends a claim with the run's status; false (nothing changed) when another runner holds the run now. */
  releaseRun(claim: RunClaim, status: Exclude<RunStatus, 'running'>, error?: string): boolean {
    return claims.releaseRun(this.db, claim, status, error);
  }

  observeRun(runId: number): ObservedRun | undefined {
    return claims.observeRun(this.db, runId);
  }

  completedItems(runId: number): Set<string> {
    return samples.completedItems(this.db, runId);
  }

  recordSample<R>(runId: number, sample: SampleInput<R>, claim?: RunClaim): boolean {
    return samples.recordSample(this.db, runId, sample, claim);
  }

  readSamples<R = unknown>(runId: number): SampleRow<R>[] {
    return samples.readSamples<R>(this.db, runId);
  }

  readArray(runId: number, itemId: string, name: string): StoredArray | undefined {
    return samples.readArray(this.db, runId, itemId, name);
  }

  arrayNames(runId: number, itemId: string): string[] {
    return samples.arrayNames(this.db, runId, itemId);
  }

  layerMetric(runId: number, name: string): LayerCurvePoint[] {
    return samples.layerMetric(this.db, runId, name);
  }

  sampleMetrics(runId: number, itemId: string): LayerMetricValue[] {
    return samples.sampleMetrics(this.db, runId, itemId);
  }

  metricNames(runId: number): string[] {
    return samples.metricNames(this.db, runId);
  }

  clearErrors(runId: number): number {
    return samples.clearErrors(this.db, runId);
  }
}

/** Whether the workspace folder, and its database if there is one, may be written. */
function writable(folder: string, file: string): boolean {
  try {
    accessSync(folder, constants.W_OK);
    if (existsSync(file)) accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
