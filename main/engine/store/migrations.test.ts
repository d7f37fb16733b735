import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { FusionError } from '../../common/errors.ts';
import { migrate, MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations.ts';
import { TempDirs, withRawDb } from './testing.ts';
import { DATABASE_FILE, Workspace } from './workspace.ts';

const temp = new TempDirs();
afterEach(() => temp.removeAll());

function version(db: Database.Database): number {
  return (db.prepare('SELECT version FROM schema_version').get() as { version: number }).version;
}

describe('workspace schema', () => {
  it('creates the database with WAL, foreign keys and the current schema version', () => {
    const dir = temp.make();
    const ws = Workspace.open(dir);
    try {
      withRawDb(dir, (db) => {
        expect(version(db)).toBe(SCHEMA_VERSION);
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        const tables = db
          .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
          .pluck()
          .all();
        expect(tables).toEqual(
          expect.arrayContaining([
            'arrays',
            'datasets',
            'metrics',
            'models',
            'runs',
            'samples',
            'schema_version',
          ]),
        );
        expect(db.prepare('SELECT count(*) FROM schema_version').pluck().get()).toBe(1);
      });
    } finally {
      ws.close();
    }
  });

  it('reopens an existing workspace without migrating again and keeps its rows', () => {
    const dir = temp.make();
    const first = Workspace.open(dir);
    first.close();
    const second = Workspace.open(dir);
    second.close();
    withRawDb(dir, (db) => expect(version(db)).toBe(SCHEMA_VERSION));
  });

  it('refuses a database written by a newer FusionScope, naming both versions', () => {
    const dir = temp.make();
    Workspace.open(dir).close();
    withRawDb(dir, (db) => db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION + 5));
    let error: unknown;
    try {
      Workspace.open(dir).close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FusionError);
    expect(error).toMatchObject({
      code: 'STORE',
      message: expect.stringMatching(
        new RegExp(`version ${SCHEMA_VERSION + 5}.*up to ${SCHEMA_VERSION}.*newer`),
      ),
    });
  });

  it('refuses a file that is not a SQLite database with a STORE error', () => {
    const dir = temp.make();
    writeFileSync(join(dir, DATABASE_FILE), 'not a database, just text '.repeat(100));
    expect(() => Workspace.open(dir)).toThrow(expect.objectContaining({ code: 'STORE' }));
  });

  it('applies pending migrations in order, all or nothing', () => {
    const dir = temp.make();
    const db = new Database(join(dir, 'm.sqlite'));
    try {
      const good: Migration[] = [
        { version: 1, sql: 'CREATE TABLE a (x INTEGER)' },
        { version: 2, sql: 'CREATE TABLE b (y INTEGER)' },
      ];
      expect(migrate(db, 'm.sqlite', good.slice(0, 1))).toBe(1);
      // Version 3 fails halfway: version 2's table and the version bump must roll back with it.
      const bad = [...good, { version: 3, sql: 'CREATE TABLE c (z INTEGER); CREATE TABLE a (x INTEGER)' }];
      expect(() => migrate(db, 'm.sqlite', bad)).toThrow(/already exists/);
      expect(version(db)).toBe(1);
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all();
      expect(tables).not.toContain('b');
      expect(tables).not.toContain('c');
      expect(migrate(db, 'm.sqlite', good)).toBe(2);
      expect(version(db)).toBe(2);
    } finally {
      db.close();
    }
  });
});

describe('migration to version 2 (run claims)', () => {
  it('adds the claim columns to a version-1 workspace and keeps its runs resumable', () => {
    const dir = temp.make();
    const db = new Database(join(dir, DATABASE_FILE));
    try {
      migrate(db, DATABASE_FILE, MIGRATIONS.slice(0, 1));
      db.exec(`
        INSERT INTO models (id, folder, fingerprint, info, created_at) VALUES (1, '/m', 'fp', '{}', 0);
        INSERT INTO datasets (id, path, format, name, item_count, items_hash, created_at)
          VALUES (1, '/d', 'fusionscope-vqa', 'd', 2, 'h', 0);
        INSERT INTO runs (kind, model_id, dataset_id, config, status, total, owner_pid, owner_host,
                          owner_start, created_at, updated_at)
          VALUES ('sweep', 1, 1, '{}', 'running', 2, 2147483646, 'nowhere', NULL, 0, 0);`);
    } finally {
      db.close();
    }
    const ws = Workspace.open(dir);
    try {
      // A schema-1 row has no claim token: its owner (on another host) is judged by updated_at, long past.
      expect(ws.interruptedOnOpen).toEqual([1]);
      withRawDb(dir, (raw) => {
        expect(version(raw)).toBe(SCHEMA_VERSION);
        const columns = raw.prepare(`SELECT name FROM pragma_table_info('runs')`).pluck().all();
        expect(columns).toEqual(expect.arrayContaining(['claim_token', 'heartbeat_at']));
      });
    } finally {
      ws.close();
    }
  });
});
