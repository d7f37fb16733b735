/**
 * Queries on a run's samples, per-layer metrics and arrays. recordSample is the one write: a sample row,
 * its metrics, its arrays and the run's counters commit together or not at all, so a kill -9 at any
 * moment leaves either the whole sample or none of it.
 */
import type Database from 'better-sqlite3';

import { FusionError } from '../../common/errors.ts';
import type {
  ArrayOutput,
  LayerCurvePoint,
  LayerMetricValue,
  SampleRow,
  SampleStatus,
  StoredArray,
} from '../../common/runs.ts';
import { checkShape, decodeFloat32, encodeFloat32 } from './arrays.ts';
import { canonicalJson } from './canonicalJson.ts';
import { requireClaim, type RunClaim } from './runClaims.ts';
import { requireRunId } from './runRows.ts';

export interface SampleInput<R = unknown> {
  readonly itemId: string;
  /** The item's index in its dataset: readSamples returns samples in this order. */
  readonly position?: number;
  readonly status: SampleStatus;
  /** Stored as JSON; ignored for an error sample. */
  readonly result?: R;
  /** The error message, for status 'error'. */
  readonly error?: string;
  readonly durationMs?: number;
  readonly metrics?: readonly LayerMetricValue[];
  readonly arrays?: readonly ArrayOutput[];
}

/**
 * Throws BAD_ARGUMENT for a sample recordSample would refuse (the runner records such output as a sample
 * error instead); returns the result as JSON text, null for an error sample.
 */
export function checkSample(sample: SampleInput): string | null {
  if (typeof sample.itemId !== 'string') {
    throw new FusionError(
      'BAD_ARGUMENT',
      `sample itemId must be a string, got ${JSON.stringify(sample.itemId)}`,
    );
  }
  if (sample.status !== 'ok' && sample.status !== 'error') {
    throw new FusionError('BAD_ARGUMENT', `sample status must be 'ok' or 'error', got '${sample.status}'`);
  }
  if (sample.position !== undefined && (!Number.isInteger(sample.position) || sample.position < 0)) {
    throw new FusionError('BAD_ARGUMENT', `sample position must be an integer ≥ 0, got ${sample.position}`);
  }
  const seen = new Set<string>();
  for (const m of sample.metrics ?? []) {
    if (
      !Number.isInteger(m.layer) ||
      m.layer < 0 ||
      typeof m.name !== 'string' ||
      typeof m.value !== 'number'
    ) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `item '${sample.itemId}': a metric needs an integer layer ≥ 0, a name and a number, got ${JSON.stringify(m)}`,
      );
    }
    const key = `${m.name}@${m.layer}`;
    if (seen.has(key)) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `item '${sample.itemId}': metric '${m.name}' at layer ${m.layer} twice`,
      );
    }
    seen.add(key);
  }
  const names = new Set<string>();
  for (const a of sample.arrays ?? []) {
    checkShape(a.name, a.data, a.shape);
    if (names.has(a.name))
      throw new FusionError('BAD_ARGUMENT', `item '${sample.itemId}': array '${a.name}' twice`);
    names.add(a.name);
  }
  return sample.status === 'ok' ? canonicalJson(sample.result ?? null) : null;
}

/**
 * Records one item of a run. Returns false, changing nothing, when the item already has a sample: the
 * first record wins, so a retried or duplicated write never doubles a row or a counter. With `claim`,
 * the write also beats the claim's heartbeat, and throws ClaimLostError (writing nothing) once another
 * runner has taken the run over.
 */
export function recordSample(
  db: Database.Database,
  runId: number,
  sample: SampleInput,
  claim?: RunClaim,
): boolean {
  requireRunId(runId);
  if (claim !== undefined && claim.runId !== runId) {
    throw new FusionError('BAD_ARGUMENT', `a claim on run ${claim.runId} cannot record into run ${runId}`);
  }
  const result = checkSample(sample);
  const ok = sample.status === 'ok';
  const error = ok ? null : (sample.error ?? 'unknown error');
  const write = db.transaction((): boolean => {
    if (db.prepare('SELECT 1 FROM runs WHERE id = ?').get(runId) === undefined) {
      throw new FusionError('BAD_ARGUMENT', `no run ${runId} in this workspace`);
    }
    if (claim !== undefined) requireClaim(db, claim);
    const now = Date.now();
    const inserted = db
      .prepare(
        `INSERT INTO samples (run_id, item_id, position, status, result, error, duration_ms, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, item_id) DO NOTHING`,
      )
      .run(
        runId,
        sample.itemId,
        sample.position ?? null,
        sample.status,
        result,
        error,
        sample.durationMs ?? null,
        now,
      );
    if (inserted.changes === 0) return false;
    const metric = db.prepare(
      'INSERT INTO metrics (run_id, item_id, name, layer, value) VALUES (?, ?, ?, ?, ?)',
    );
    // SQLite has no NaN (it binds as NULL); NULL reads back as NaN.
    for (const m of sample.metrics ?? []) metric.run(runId, sample.itemId, m.name, m.layer, m.value);
    const array = db.prepare(
      `INSERT INTO arrays (run_id, item_id, name, dtype, shape, data) VALUES (?, ?, ?, 'float32', ?, ?)`,
    );
    for (const a of sample.arrays ?? []) {
      array.run(runId, sample.itemId, a.name, JSON.stringify(a.shape), encodeFloat32(a.data));
    }
    db.prepare('UPDATE runs SET done = done + 1, failed = failed + ?, updated_at = ? WHERE id = ?').run(
      ok ? 0 : 1,
      now,
      runId,
    );
    return true;
  });
  // IMMEDIATE: take the write lock up front, so a concurrent writer makes us wait (busy timeout) instead
  // of failing mid-transaction on a lock upgrade.
  return write.immediate();
}

/** Item ids that have a sample, ok or error: the items a resume skips. */
export function completedItems(db: Database.Database, runId: number): Set<string> {
  const rows = db.prepare('SELECT item_id FROM samples WHERE run_id = ?').pluck().all(requireRunId(runId));
  return new Set(rows as string[]);
}

interface RawSample {
  item_id: string;
  status: SampleStatus;
  result: string | null;
  error: string | null;
  duration_ms: number | null;
  created_at: number;
}

/** In dataset order (position), then recording order for samples recorded without a position. */
export function readSamples<R = unknown>(db: Database.Database, runId: number): SampleRow<R>[] {
  const rows = db
    .prepare(
      `SELECT item_id, status, result, error, duration_ms, created_at FROM samples WHERE run_id = ?
       ORDER BY position IS NULL, position, id`,
    )
    .all(requireRunId(runId)) as RawSample[];
  return rows.map((raw) => ({
    itemId: raw.item_id,
    status: raw.status,
    result: raw.result === null ? null : (JSON.parse(raw.result) as R),
    error: raw.error,
    durationMs: raw.duration_ms,
    createdAt: raw.created_at,
  }));
}

export function readArray(
  db: Database.Database,
  runId: number,
  itemId: string,
  name: string,
): StoredArray | undefined {
  const raw = db
    .prepare('SELECT dtype, shape, data FROM arrays WHERE run_id = ? AND item_id = ? AND name = ?')
    .get(requireRunId(runId), itemId, name) as { dtype: 'float32'; shape: string; data: Buffer } | undefined;
  if (raw === undefined) return undefined;
  const where = `run ${runId} item '${itemId}' array '${name}'`;
  return {
    name,
    dtype: raw.dtype,
    shape: JSON.parse(raw.shape) as number[],
    data: decodeFloat32(raw.data, where),
  };
}

/** Names of the arrays one sample stored. */
export function arrayNames(db: Database.Database, runId: number, itemId: string): string[] {
  return db
    .prepare('SELECT name FROM arrays WHERE run_id = ? AND item_id = ? ORDER BY name')
    .pluck()
    .all(requireRunId(runId), itemId) as string[];
}

const asNumber = (value: number | null): number => (value === null ? Number.NaN : value);

/** One metric across a run's samples, grouped by layer (ascending); items within a layer by id. */
export function layerMetric(db: Database.Database, runId: number, name: string): LayerCurvePoint[] {
  const rows = db
    .prepare(
      'SELECT layer, item_id, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY layer, item_id',
    )
    .all(requireRunId(runId), name) as Array<{ layer: number; item_id: string; value: number | null }>;
  const points: Array<{ layer: number; itemIds: string[]; values: number[] }> = [];
  for (const row of rows) {
    let point = points[points.length - 1];
    if (point === undefined || point.layer !== row.layer) {
      point = { layer: row.layer, itemIds: [], values: [] };
      points.push(point);
    }
    point.itemIds.push(row.item_id);
    point.values.push(asNumber(row.value));
  }
  return points;
}

/** Every metric of one sample, by name then layer. */
export function sampleMetrics(db: Database.Database, runId: number, itemId: string): LayerMetricValue[] {
  const rows = db
    .prepare('SELECT name, layer, value FROM metrics WHERE run_id = ? AND item_id = ? ORDER BY name, layer')
    .all(requireRunId(runId), itemId) as Array<{ name: string; layer: number; value: number | null }>;
  return rows.map((row) => ({ name: row.name, layer: row.layer, value: asNumber(row.value) }));
}

export function metricNames(db: Database.Database, runId: number): string[] {
  return db
    .prepare('SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name')
    .pluck()
    .all(requireRunId(runId)) as string[];
}

/** Deletes a run's error samples (their metrics and arrays cascade) so a resume retries them. */
export function clearErrors(db: Database.Database, runId: number): number {
  requireRunId(runId);
  return db
    .transaction(() => {
      const removed = db
        .prepare(`DELETE FROM samples WHERE run_id = ? AND status = 'error'`)
        .run(runId).changes;
      db.prepare('UPDATE runs SET done = done - ?, failed = failed - ?, updated_at = ? WHERE id = ?').run(
        removed,
        removed,
        Date.now(),
        runId,
      );
      return removed;
    })
    .immediate();
}
