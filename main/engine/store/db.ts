/**
 * Opens one workspace database file with the settings every connection needs, then migrates it; or,
 * for a workspace this process may not write, read-only.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import Database from 'better-sqlite3';

import { shownPath } from '../../../native-models/files/messageText.ts';
import { FusionError } from '../../common/errors.ts';
import { currentVersion, migrate, SCHEMA_VERSION } from './migrations.ts';

export function openDatabase(file: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    // A second process (a CLI run while the app watches) may hold the write lock for one commit.
    db = new Database(file, { timeout: 10_000 });
    // WAL: readers (a progress view, another process polling) never block the writer, and a commit is
    // atomic under kill -9.
    db.pragma('journal_mode = WAL');
    // FULL fsyncs each commit: a finished sample survives an OS crash too; commits are per sample, so the
    // cost is negligible next to a model pass.
    db.pragma('synchronous = FULL');
    // Per connection, and off by default in SQLite: without it deleteRun would not cascade.
    db.pragma('foreign_keys = ON');
    migrate(db, file);
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof FusionError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new FusionError('STORE', `cannot open workspace database ${file}: ${message}`, { cause: error });
  }
}

/** A read-only connection, and how to close it (removing the snapshot it may read from). */
export interface ReadOnlyDatabase {
  readonly db: Database.Database;
  close(): void;
}

/** SQLite's errors when a WAL database's -shm/-wal files do not exist and cannot be created. */
const NO_WAL_FILES = new Set(['SQLITE_READONLY_DIRECTORY', 'SQLITE_CANTOPEN', 'SQLITE_READONLY_CANTINIT']);

function checkSchema(db: Database.Database, file: string): void {
  const version = currentVersion(db);
  if (version !== SCHEMA_VERSION) {
    const why =
      version > SCHEMA_VERSION
        ? 'open it with a newer FusionScope'
        : 'open it once where it can be written, to upgrade it';
    throw new FusionError(
      'STORE',
      `workspace database ${shownPath(file)} has schema version ${version}, this FusionScope reads ${SCHEMA_VERSION}: ${why}`,
    );
  }
}

/**
 * Opens `file` without writing anything: no migration, no journal-mode change, no interrupted runs
 * marked. A WAL database can only be read where its -shm and -wal files exist or can be created; in a
 * read-only folder, after the last writer closed cleanly (which deletes them and leaves every commit
 * in the main file), the main file is copied to a temporary folder and read there.
 */
export function openDatabaseReadOnly(file: string): ReadOnlyDatabase {
  if (!existsSync(file)) {
    throw new FusionError('STORE', `no workspace database at ${shownPath(file)}`);
  }
  try {
    return connectReadOnly(file, () => undefined);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !NO_WAL_FILES.has(code)) throw storeError(error, file);
  }
  const snapshot = mkdtempSync(join(tmpdir(), 'fusionscope-workspace-'));
  const removeSnapshot = () => rmSync(snapshot, { recursive: true, force: true });
  try {
    const copy = join(snapshot, basename(file));
    copyFileSync(file, copy);
    if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`);
    return connectReadOnly(copy, removeSnapshot, file);
  } catch (error) {
    removeSnapshot();
    throw storeError(error, file);
  }
}

function connectReadOnly(path: string, cleanUp: () => void, shownFile = path): ReadOnlyDatabase {
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 10_000 });
  try {
    checkSchema(db, shownFile);
  } catch (error) {
    db.close();
    throw error;
  }
  return {
    db,
    close: () => {
      db.close();
      cleanUp();
    },
  };
}

function storeError(error: unknown, file: string): FusionError {
  if (error instanceof FusionError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new FusionError('STORE', `cannot read workspace database ${shownPath(file)}: ${message}`, {
    cause: error,
  });
}
