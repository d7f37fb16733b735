/**
 * Schema migrations of the workspace database. Each migration runs once, in order, inside one IMMEDIATE
 * transaction together with the version bump, so a crash mid-migration leaves the previous schema and
 * two processes opening a fresh workspace at once cannot both apply it. SCHEMA.md describes the tables.
 */
import type Database from 'better-sqlite3';

import { FusionError } from '../../common/errors.ts';

export interface Migration {
  readonly version: number;
  readonly sql: string;
  /**
   * Rebuilds a table other tables point at (SQLite cannot drop a CHECK): foreign keys are off while it
   * runs, as SQLite's procedure for schema changes asks, and checked before the transaction commits.
   */
  readonly rebuildsTables?: boolean;
}

const V1 = `
CREATE TABLE models (
  id          INTEGER PRIMARY KEY,
  folder      TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  info        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  UNIQUE (folder, fingerprint)
);
CREATE INDEX models_fingerprint ON models (fingerprint);

CREATE TABLE datasets (
  id         INTEGER PRIMARY KEY,
  path       TEXT NOT NULL,
  format     TEXT NOT NULL,
  name       TEXT NOT NULL,
  item_count INTEGER NOT NULL,
  items_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (path, format, name, items_hash)
);

CREATE TABLE runs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  kind        TEXT NOT NULL CHECK (kind IN ('sweep', 'evolve', 'contrast', 'eval')),
  model_id    INTEGER NOT NULL REFERENCES models (id),
  dataset_id  INTEGER NOT NULL REFERENCES datasets (id),
  config      TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'cancelled', 'failed', 'interrupted')),
  total       INTEGER NOT NULL CHECK (total >= 0),
  done        INTEGER NOT NULL DEFAULT 0,
  failed      INTEGER NOT NULL DEFAULT 0,
  error       TEXT,
  owner_pid   INTEGER,
  owner_host  TEXT,
  owner_start TEXT,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX runs_match ON runs (kind, dataset_id, config);
CREATE INDEX runs_status ON runs (status);

CREATE TABLE samples (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  item_id     TEXT NOT NULL,
  position    INTEGER,
  status      TEXT NOT NULL CHECK (status IN ('ok', 'error')),
  result      TEXT,
  error       TEXT,
  duration_ms REAL,
  created_at  INTEGER NOT NULL,
  UNIQUE (run_id, item_id)
);

CREATE TABLE metrics (
  run_id  INTEGER NOT NULL,
  item_id TEXT NOT NULL,
  name    TEXT NOT NULL,
  layer   INTEGER NOT NULL,
  value   REAL,
  PRIMARY KEY (run_id, name, layer, item_id),
  FOREIGN KEY (run_id, item_id) REFERENCES samples (run_id, item_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX metrics_sample ON metrics (run_id, item_id);

CREATE TABLE arrays (
  run_id  INTEGER NOT NULL,
  item_id TEXT NOT NULL,
  name    TEXT NOT NULL,
  dtype   TEXT NOT NULL CHECK (dtype IN ('float32')),
  shape   TEXT NOT NULL,
  data    BLOB NOT NULL,
  PRIMARY KEY (run_id, item_id, name),
  FOREIGN KEY (run_id, item_id) REFERENCES samples (run_id, item_id) ON DELETE CASCADE
);
`;

/**
 * Version 2: a run's claim. The token tells one claim from the next (a runner that lost its claim to a
 * takeover must not keep writing); the heartbeat lets a claim whose owner cannot be checked (another
 * host) or is hung expire. NULL in rows written before: those fall back to the pid check and updated_at.
 */
const V2 = `
ALTER TABLE runs ADD COLUMN claim_token TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_at INTEGER;
`;

/**
 * Version 3: analyses come from a registry (main/engine/analyses), so the list of kinds leaves the
 * schema (any lowercase name; the registry refuses unknown ones before a run is made), and every run
 * records its provenance (JSON, common/runs.ts Provenance; NULL for runs made before).
 */
const V3 = `
CREATE TABLE runs_v3 (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  kind         TEXT NOT NULL CHECK (kind GLOB '[a-z]*' AND length(kind) <= 32),
  model_id     INTEGER NOT NULL REFERENCES models (id),
  dataset_id   INTEGER NOT NULL REFERENCES datasets (id),
  config       TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('running', 'done', 'cancelled', 'failed', 'interrupted')),
  total        INTEGER NOT NULL CHECK (total >= 0),
  done         INTEGER NOT NULL DEFAULT 0,
  failed       INTEGER NOT NULL DEFAULT 0,
  error        TEXT,
  owner_pid    INTEGER,
  owner_host   TEXT,
  owner_start  TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  claim_token  TEXT,
  heartbeat_at INTEGER,
  provenance   TEXT
);
INSERT INTO runs_v3 (id, kind, model_id, dataset_id, config, status, total, done, failed, error,
                     owner_pid, owner_host, owner_start, created_at, updated_at, claim_token, heartbeat_at)
  SELECT id, kind, model_id, dataset_id, config, status, total, done, failed, error,
         owner_pid, owner_host, owner_start, created_at, updated_at, claim_token, heartbeat_at FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v3 RENAME TO runs;
CREATE INDEX runs_match ON runs (kind, dataset_id, config);
CREATE INDEX runs_status ON runs (status);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, sql: V1 },
  { version: 2, sql: V2 },
  { version: 3, sql: V3, rebuildsTables: true },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** The schema version `db` is at (0: a new, empty database); reads only. */
export function currentVersion(db: Database.Database): number {
  const table = db
    .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`)
    .get();
  if (table === undefined) return 0;
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  return row?.version ?? 0;
}

/**
 * Brings `db` to the newest version in `migrations` (tests pass their own list); returns the version.
 * A database written by a newer FusionScope is refused rather than guessed at.
 */
export function migrate(
  db: Database.Database,
  file: string,
  migrations: readonly Migration[] = MIGRATIONS,
): number {
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
  const rebuilding = migrations.some((m) => m.rebuildsTables && m.version > currentVersion(db));
  const apply = db.transaction(() => {
    const from = currentVersion(db);
    if (from > latest) {
      throw new FusionError(
        'STORE',
        `workspace database ${file} has schema version ${from}, but this FusionScope knows versions up to ` +
          `${latest}: open it with a newer FusionScope`,
      );
    }
    if (from === latest) return from;
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    for (const migration of migrations) {
      if (migration.version > from) db.exec(migration.sql);
    }
    if (rebuilding) {
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length > 0) {
        throw new FusionError('STORE', `migrating ${file} would break ${broken.length} row reference(s)`);
      }
    }
    db.prepare('DELETE FROM schema_version').run();
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(latest);
    return latest;
  });
  // A no-op inside a transaction, so switched around it; only while a rebuild runs.
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  if (rebuilding) db.pragma('foreign_keys = OFF');
  try {
    return apply.immediate();
  } finally {
    if (rebuilding && foreignKeys) db.pragma('foreign_keys = ON');
  }
}
