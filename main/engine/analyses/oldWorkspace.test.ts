/**
 * A workspace written before the analysis registry (schema version 2, by the commit before it: one
 * sweep, evolve, contrast and eval run of the demo model on three items, fixtures/workspace-v2.sqlite)
 * opens with today's code: the runs table is rebuilt without its list of kinds and gains provenance,
 * nothing recorded is lost, every run summarises through the registry, and its settings parse through
 * today's schemas.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { SCHEMA_VERSION } from '../store/migrations.ts';
import { newRun, TempDirs, withRawDb } from '../store/testing.ts';
import { DATABASE_FILE, Workspace } from '../store/workspace.ts';
import { analysisOf } from './registry.ts';

const FIXTURE = join(import.meta.dirname, '..', 'store', 'fixtures', 'workspace-v2.sqlite');
const temp = new TempDirs();
afterEach(() => temp.removeAll());

interface Counts {
  readonly runs: unknown[];
  readonly samples: number;
  readonly metrics: number;
  readonly arrays: number;
}

function counts(db: Database.Database): Counts {
  const count = (table: string) =>
    (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  return {
    runs: db.prepare('SELECT id, kind, status, total, done, failed, config FROM runs ORDER BY id').all(),
    samples: count('samples'),
    metrics: count('metrics'),
    arrays: count('arrays'),
  };
}

function oldWorkspace(): string {
  const dir = temp.make();
  copyFileSync(FIXTURE, join(dir, DATABASE_FILE));
  return dir;
}

describe('a workspace made before the analysis registry', () => {
  it('migrates to the current schema and keeps every run, sample, metric and array', () => {
    const dir = oldWorkspace();
    const before = withRawDb(dir, counts, true);
    expect(withRawDb(dir, (db) => db.prepare('SELECT version FROM schema_version').pluck().get(), true)).toBe(
      2,
    );
    expect(before.runs).toHaveLength(4);
    expect(before.samples).toBeGreaterThan(0);
    const ws = Workspace.open(dir);
    try {
      withRawDb(dir, (db) => {
        expect(db.prepare('SELECT version FROM schema_version').pluck().get()).toBe(SCHEMA_VERSION);
        expect(counts(db)).toEqual(before);
        expect(db.pragma('foreign_key_check')).toEqual([]);
      });
      const runs = ws.listRuns();
      expect(runs.map((r) => r.kind).sort()).toEqual(['contrast', 'eval', 'evolve', 'sweep']);
      expect(runs.every((r) => r.provenance === null && r.status === 'done')).toBe(true);
    } finally {
      ws.close();
    }
  });

  it('summarises every old run through its analysis, and reads its settings with today’s schemas', () => {
    const ws = Workspace.open(oldWorkspace());
    try {
      for (const run of ws.listRuns()) {
        const analysis = analysisOf(run.kind);
        const summary = analysis.summarize(ws, run) as { runId: number; sampleCount: number };
        expect(summary.runId).toBe(run.id);
        expect(summary.sampleCount).toBe(run.done);
        expect(analysis.describe(summary, run).length).toBeGreaterThan(0);
        // Old settings lack today's defaults; parsing fills them and keeps what was stored.
        const parsed = analysis.parseConfig(run.config) as object;
        expect(parsed).toMatchObject(run.config as object);
      }
    } finally {
      ws.close();
    }
  });

  it('after the rebuild, deleting a run still cascades to its rows and any analysis name is accepted', () => {
    const dir = oldWorkspace();
    const ws = Workspace.open(dir);
    try {
      const [first] = ws.listRuns();
      expect(ws.deleteRun(first.id)).toBe(true);
      withRawDb(dir, (db) => {
        const left = db.prepare('SELECT count(*) FROM samples WHERE run_id = ?').pluck().get(first.id);
        expect(left).toBe(0);
      });
      const created = ws.createRun(newRun({ kind: 'a-new-analysis' }));
      expect(ws.getRun(created.id).kind).toBe('a-new-analysis');
    } finally {
      ws.close();
    }
  });
});
