/**
 * Queries on the runs table (and the model/dataset rows a run points at). Pure functions of a connection;
 * Workspace wraps them.
 */
import { randomUUID } from 'node:crypto';

import type Database from 'better-sqlite3';

import { FusionError } from '../../common/errors.ts';
import {
  RUN_KIND_PATTERN,
  type DatasetRow,
  type ModelRow,
  type Provenance,
  type RunKind,
  type RunRow,
  type RunStatus,
} from '../../common/runs.ts';
import { canonicalJson } from './canonicalJson.ts';
import { itemsHash } from './fingerprint.ts';
import {
  claimLive,
  currentOwner,
  dropClaim,
  holdClaim,
  sameOwner,
  type Owner,
  type StoredClaim,
} from './owner.ts';

export interface ModelRef {
  readonly folder: string;
  readonly fingerprint: string;
  readonly info: unknown;
}

export interface DatasetRef {
  readonly path: string;
  readonly format: string;
  readonly name: string;
  readonly itemIds: readonly string[];
}

export interface NewRun {
  readonly kind: RunKind;
  readonly model: ModelRef;
  readonly dataset: DatasetRef;
  readonly config: unknown;
  /** Recorded when the run is created (not part of its identity). */
  readonly provenance?: Provenance | null;
}

export interface RunFilter {
  readonly kind?: RunKind;
  readonly status?: RunStatus;
  readonly modelFingerprint?: string;
}

const STATUSES: readonly RunStatus[] = ['running', 'done', 'cancelled', 'failed', 'interrupted'];
/** Statuses a run can be resumed from (besides 'running' with a dead owner). */
const RESUMABLE: readonly RunStatus[] = ['interrupted', 'cancelled', 'failed'];
export const REUSABLE: readonly RunStatus[] = [...RESUMABLE, 'done'];

export interface RawRun {
  id: number;
  kind: RunKind;
  config: string;
  provenance: string | null;
  status: RunStatus;
  total: number;
  done: number;
  failed: number;
  error: string | null;
  owner_pid: number | null;
  owner_host: string | null;
  owner_start: string | null;
  claim_token: string | null;
  heartbeat_at: number | null;
  created_at: number;
  updated_at: number;
  model_id: number;
  m_folder: string;
  m_fingerprint: string;
  m_info: string;
  dataset_id: number;
  d_path: string;
  d_format: string;
  d_name: string;
  d_item_count: number;
  d_items_hash: string;
}

const SELECT_RUN = `
  SELECT r.*, m.folder AS m_folder, m.fingerprint AS m_fingerprint, m.info AS m_info,
         d.path AS d_path, d.format AS d_format, d.name AS d_name, d.item_count AS d_item_count,
         d.items_hash AS d_items_hash
  FROM runs r JOIN models m ON m.id = r.model_id JOIN datasets d ON d.id = r.dataset_id`;

export function toRow(raw: RawRun): RunRow {
  const model: ModelRow = {
    id: raw.model_id,
    folder: raw.m_folder,
    fingerprint: raw.m_fingerprint,
    info: JSON.parse(raw.m_info),
  };
  const dataset: DatasetRow = {
    id: raw.dataset_id,
    path: raw.d_path,
    format: raw.d_format,
    name: raw.d_name,
    itemCount: raw.d_item_count,
    itemsHash: raw.d_items_hash,
  };
  return {
    id: raw.id,
    kind: raw.kind,
    model,
    dataset,
    config: JSON.parse(raw.config),
    provenance: raw.provenance === null ? null : (JSON.parse(raw.provenance) as Provenance),
    status: raw.status,
    total: raw.total,
    done: raw.done,
    failed: raw.failed,
    error: raw.error,
    createdAt: raw.created_at,
    updatedAt: raw.updated_at,
  };
}

function ownerOf(raw: RawRun): Owner | null {
  if (raw.owner_pid === null || raw.owner_host === null) return null;
  return { pid: raw.owner_pid, host: raw.owner_host, start: raw.owner_start };
}

function claimOf(raw: RawRun): StoredClaim | null {
  const owner = ownerOf(raw);
  if (owner === null) return null;
  // Rows from before claims were stored (schema 1) beat only through updated_at.
  return { owner, token: raw.claim_token, heartbeatAt: raw.heartbeat_at ?? raw.updated_at };
}

/** A 'running' row whose claim no longer holds (owner gone, runner gone, no heartbeat) is really interrupted. */
export function abandoned(raw: RawRun, now = Date.now()): boolean {
  if (raw.status !== 'running') return false;
  const claim = claimOf(raw);
  return claim === null || !claimLive(claim, now);
}

/** A 'running' row some live runner is working on. */
export function liveRunning(raw: RawRun): boolean {
  return raw.status === 'running' && !abandoned(raw);
}

export function rawRun(db: Database.Database, id: number): RawRun | undefined {
  return db.prepare(`${SELECT_RUN} WHERE r.id = ?`).get(id) as RawRun | undefined;
}

export function requireRunId(id: unknown): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    throw new FusionError('BAD_ARGUMENT', `run id must be a positive integer, got ${JSON.stringify(id)}`);
  }
  return id;
}

function upsertModel(db: Database.Database, model: ModelRef, now: number): number {
  const row = db
    .prepare(
      `INSERT INTO models (folder, fingerprint, info, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (folder, fingerprint) DO UPDATE SET info = excluded.info RETURNING id`,
    )
    .get(model.folder, model.fingerprint, canonicalJson(model.info ?? null), now) as { id: number };
  return row.id;
}

/** The dataset row for `dataset`, created when `create`; undefined when absent and not created. */
function datasetId(
  db: Database.Database,
  dataset: DatasetRef,
  now: number,
  create: boolean,
): number | undefined {
  const hash = itemsHash(dataset.itemIds);
  if (!create) {
    const row = db
      .prepare('SELECT id FROM datasets WHERE path = ? AND format = ? AND name = ? AND items_hash = ?')
      .get(dataset.path, dataset.format, dataset.name, hash) as { id: number } | undefined;
    return row?.id;
  }
  const row = db
    .prepare(
      `INSERT INTO datasets (path, format, name, item_count, items_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (path, format, name, items_hash) DO UPDATE SET item_count = excluded.item_count
       RETURNING id`,
    )
    .get(dataset.path, dataset.format, dataset.name, dataset.itemIds.length, hash, now) as { id: number };
  return row.id;
}

function checkNewRun(run: NewRun): void {
  // Which kinds exist is the analysis registry's to say; the store only keeps names well formed.
  if (typeof run.kind !== 'string' || !RUN_KIND_PATTERN.test(run.kind)) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `run kind must be an analysis name, got ${JSON.stringify(run.kind)}`,
    );
  }
  if (typeof run.model?.folder !== 'string' || typeof run.model.fingerprint !== 'string') {
    throw new FusionError('BAD_ARGUMENT', 'run model needs a folder and a fingerprint');
  }
  const { dataset } = run;
  if (
    typeof dataset?.path !== 'string' ||
    typeof dataset.format !== 'string' ||
    !Array.isArray(dataset.itemIds)
  ) {
    throw new FusionError('BAD_ARGUMENT', 'run dataset needs a path, a format, a name and item ids');
  }
}

/**
 * Inserts a 'running' run claimed by this process under `token`; returns its id. The caller holds the
 * write transaction (and the token: holdClaim).
 */
export function insertClaimedRun(db: Database.Database, run: NewRun, token: string): number {
  checkNewRun(run);
  const config = canonicalJson(run.config ?? null);
  const owner = currentOwner();
  const now = Date.now();
  const modelId = upsertModel(db, run.model, now);
  const dsId = datasetId(db, run.dataset, now, true);
  const info = db
    .prepare(
      `INSERT INTO runs (kind, model_id, dataset_id, config, provenance, status, total, owner_pid,
                         owner_host, owner_start, claim_token, heartbeat_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      run.kind,
      modelId,
      dsId,
      config,
      run.provenance ? canonicalJson(run.provenance) : null,
      run.dataset.itemIds.length,
      owner.pid,
      owner.host,
      owner.start,
      token,
      now,
      now,
      now,
    );
  return Number(info.lastInsertRowid);
}

/**
 * Makes run `id` 'running' under a new claim of this process (owner, `token`, heartbeat now), error
 * cleared. The caller holds the write transaction and has checked that no live claim is taken away.
 */
export function setClaim(db: Database.Database, id: number, token: string): void {
  const owner = currentOwner();
  const now = Date.now();
  db.prepare(
    `UPDATE runs SET status = 'running', error = NULL, owner_pid = ?, owner_host = ?, owner_start = ?,
                     claim_token = ?, heartbeat_at = ?, updated_at = ?
     WHERE id = ?`,
  ).run(owner.pid, owner.host, owner.start, token, now, now, id);
}

export function newClaimToken(): string {
  const token = randomUUID();
  holdClaim(token);
  return token;
}

/** Creates a run owned by this process, status 'running'. */
export function createRun(db: Database.Database, run: NewRun): RunRow {
  const token = newClaimToken();
  try {
    const id = db.transaction(() => insertClaimedRun(db, run, token)).immediate();
    return findRun(db, id)!;
  } catch (error) {
    dropClaim(token);
    throw error;
  }
}

export function findRun(db: Database.Database, id: number): RunRow | undefined {
  const raw = rawRun(db, requireRunId(id));
  return raw === undefined ? undefined : toRow(raw);
}

export function getRun(db: Database.Database, id: number): RunRow {
  const run = findRun(db, id);
  if (run === undefined) throw new FusionError('BAD_ARGUMENT', `no run ${id} in this workspace`);
  return run;
}

/** Newest first. */
export function listRuns(db: Database.Database, filter: RunFilter = {}): RunRow[] {
  const clauses: Array<[string, unknown]> = [
    ['r.kind = ?', filter.kind],
    ['r.status = ?', filter.status],
    ['m.fingerprint = ?', filter.modelFingerprint],
  ];
  const used = clauses.filter(([, value]) => value !== undefined);
  const where = used.map(([clause]) => clause);
  const args = used.map(([, value]) => value);
  const sql = `${SELECT_RUN} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY r.id DESC`;
  return (db.prepare(sql).all(...args) as RawRun[]).map(toRow);
}

/** Who holds a running run, for messages: 'this process' or 'process PID on HOST'. */
export function runningBy(raw: RawRun): string {
  const by = ownerOf(raw)!;
  return sameOwner(by, currentOwner()) ? 'this process' : `process ${by.pid} on ${by.host}`;
}

/**
 * Deletes the run with its samples, metrics and arrays (ON DELETE CASCADE); false if there was none.
 * A run a live process is computing is refused: cancel it first.
 */
export function deleteRun(db: Database.Database, id: number): boolean {
  requireRunId(id);
  return db
    .transaction(() => {
      const raw = rawRun(db, id);
      if (raw === undefined) return false;
      if (liveRunning(raw)) {
        throw new FusionError(
          'STORE',
          `run ${id} is running in ${runningBy(raw)}: cancel it before deleting it`,
        );
      }
      return db.prepare('DELETE FROM runs WHERE id = ?').run(id).changes > 0;
    })
    .immediate();
}

export function markRun(db: Database.Database, id: number, status: RunStatus, error?: string): RunRow {
  if (!STATUSES.includes(status)) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `run status must be one of ${STATUSES.join(', ')}, got '${status}'`,
    );
  }
  const before = rawRun(db, requireRunId(id));
  if (before === undefined) throw new FusionError('BAD_ARGUMENT', `no run ${id} in this workspace`);
  // Any status but 'running' ends the claim: the next runner takes the run with a claim of its own.
  const ended = status !== 'running';
  db.prepare(
    `UPDATE runs SET status = ?, error = ?, updated_at = ?,
                     claim_token = CASE WHEN ? THEN NULL ELSE claim_token END
     WHERE id = ?`,
  ).run(status, error ?? null, Date.now(), ended ? 1 : 0, id);
  if (ended) dropClaim(before.claim_token);
  return getRun(db, id);
}

/** markInterrupted's work, inside the caller's write transaction. */
export function markAbandoned(db: Database.Database): number[] {
  const running = db.prepare(`${SELECT_RUN} WHERE r.status = 'running'`).all() as RawRun[];
  const now = Date.now();
  const dead = running.filter((raw) => abandoned(raw, now)).map((raw) => raw.id);
  const update = db.prepare(
    `UPDATE runs SET status = 'interrupted', claim_token = NULL, updated_at = ? WHERE id = ?`,
  );
  for (const id of dead) update.run(now, id);
  return dead;
}

/** Marks 'running' runs whose claim no longer holds (owner gone, no heartbeat) 'interrupted'; returns their ids. */
export function markInterrupted(db: Database.Database): number[] {
  return db.transaction(() => markAbandoned(db)).immediate();
}

export interface RunMatch {
  readonly kind: RunKind;
  readonly modelFingerprint: string;
  readonly dataset: DatasetRef;
  readonly config: unknown;
}

/**
 * The newest run with the same kind, model fingerprint, items and config that is unfinished (to resume)
 * or done (to reuse): rerunning
 * the same command should continue or return earlier work, never silently recompute it.
 */
export function findResumable(db: Database.Database, match: RunMatch): RunRow | undefined {
  markInterrupted(db);
  const raw = runsOf(db, match).find((run) => REUSABLE.includes(run.status));
  return raw === undefined ? undefined : toRow(raw);
}

/** Every run of one computation (kind, model fingerprint, dataset and its items, config), newest first. */
export function runsOf(db: Database.Database, match: RunMatch): RawRun[] {
  const dsId = datasetId(db, match.dataset, Date.now(), false);
  if (dsId === undefined) return [];
  return db
    .prepare(
      `${SELECT_RUN} WHERE r.kind = ? AND m.fingerprint = ? AND r.dataset_id = ? AND r.config = ?
       ORDER BY r.id DESC`,
    )
    .all(match.kind, match.modelFingerprint, dsId, canonicalJson(match.config ?? null)) as RawRun[];
}

/**
 * Takes a run over for this process: status 'running', owner = this process, error cleared. Refused while
 * another live process — or this one, in another runner — is running it.
 */
export function claimRun(db: Database.Database, id: number): RunRow {
  const token = newClaimToken();
  try {
    db.transaction(() => {
      const raw = rawRun(db, requireRunId(id));
      if (raw === undefined) throw new FusionError('BAD_ARGUMENT', `no run ${id} in this workspace`);
      if (liveRunning(raw)) {
        throw new FusionError('STORE', `run ${id} is already running in ${runningBy(raw)}`);
      }
      setClaim(db, id, token);
    }).immediate();
  } catch (error) {
    dropClaim(token);
    throw error;
  }
  return getRun(db, id);
}
