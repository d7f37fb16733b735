/**
 * docs/SCHEMA.md against the truth: its tables list exactly the columns the migrations create, and its
 * Python examples run (the pandas ones where the Python has pandas, the standard-library one wherever
 * there is a python3) on a workspace a demo run has just written and on its exports. Then the
 * independent check (testing/check_export.py: sqlite3, csv, zipfile, struct, NumPy, pyarrow) compares
 * each export with the database, value by value.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../cli.testing.ts';
import { DATABASE_FILE, Workspace } from '../store/workspace.ts';
import { EXPORT_FORMATS, type ExportFormat } from './formats.ts';
import { pythonHas, runPython, skipReason } from './python.testing.ts';

const DOC = fileURLToPath(new URL('../../../docs/SCHEMA.md', import.meta.url));
const CHECK = fileURLToPath(new URL('./testing/check_export.py', import.meta.url));
const ITEMS = 2;

let root: string;
let workspace: string;
let runId: number;
let doc: string;
const exports = {} as Record<ExportFormat, string>;
const counts = { samples: 0, metrics: 0, arrays: 0 };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-schema-doc-'));
  doc = await readFile(DOC, 'utf8');
  workspace = join(root, 'workspace');
  const run = await runCli([
    'evolve',
    '--limit',
    String(ITEMS),
    '--store-hidden',
    'layers=1;positions=image',
    '--workspace',
    workspace,
  ]);
  if (run.code !== 0) throw new Error(run.stderr);
  const opened = Workspace.open(workspace);
  try {
    runId = opened.listRuns()[0].id;
    const samples = opened.readSamples(runId);
    counts.samples = samples.length;
    for (const s of samples) {
      counts.metrics += opened.sampleMetrics(runId, s.itemId).length;
      counts.arrays += opened.arrayNames(runId, s.itemId).length;
    }
  } finally {
    opened.close();
  }
  for (const format of EXPORT_FORMATS) {
    exports[format] = join(root, `export-${format}`);
    const out = await runCli([
      'export',
      '--run',
      String(runId),
      '--format',
      format,
      '--out',
      exports[format],
      '--workspace',
      workspace,
    ]);
    if (out.code !== 0) throw new Error(out.stderr);
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The documented columns of each `### table` section of "The workspace database". */
function documentedTables(text: string): Map<string, string[]> {
  const section = text.slice(text.indexOf('## The workspace database'), text.indexOf('## With pandas'));
  const tables = new Map<string, string[]>();
  for (const part of section.split(/^### /m).slice(1)) {
    const name = part.slice(0, part.indexOf('\n')).trim();
    // The section's first table: its lines from the first that starts with '|' to the next that does not.
    const lines = part.split('\n');
    const start = lines.findIndex((line) => line.startsWith('|'));
    const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
    const rows = lines.slice(start, end < 0 ? undefined : end).filter((line) => /^\| `/.test(line));
    tables.set(
      name,
      rows.flatMap((line) => [...line.split('|')[1].matchAll(/`([^`]+)`/g)].map((m) => m[1])),
    );
  }
  return tables;
}

/** A documented Python example by its tag, written to a file. */
async function example(tag: string): Promise<string> {
  const match = new RegExp(`\`\`\`python\\n# example: ${tag}\\b[^\\n]*\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!match) throw new Error(`docs/SCHEMA.md has no example tagged ${tag}`);
  const path = join(root, `${tag}.py`);
  await writeFile(path, match[1]);
  return path;
}

function expectRan(run: { status: number | null; stdout: string; stderr: string }): string {
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return run.stdout;
}

describe('docs/SCHEMA.md', () => {
  it('lists every table the migrations create, with exactly their columns', () => {
    const db = new Database(join(workspace, DATABASE_FILE), { readonly: true });
    try {
      const actual = new Map(
        (
          db
            .prepare(
              `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
            )
            .pluck()
            .all() as string[]
        ).map((table) => [
          table,
          (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name).sort(),
        ]),
      );
      const documented = documentedTables(doc);
      expect([...documented.keys()].sort()).toEqual([...actual.keys()]);
      for (const [table, columns] of actual)
        expect([...documented.get(table)!].sort(), table).toEqual(columns);
      expect(doc).toContain(
        `schema version ${db.prepare('SELECT version FROM schema_version').pluck().get()}`,
      );
    } finally {
      db.close();
    }
  });

  it(`runs its standard-library example on a fresh workspace${skipReason()}`, async ({ skip }) => {
    if (!pythonHas()) skip();
    const out = expectRan(runPython(await example('sqlite-stdlib'), [workspace, String(runId)]));
    expect(out).toContain(`${ITEMS} samples`);
    expect(out).toMatch(/^entropy \[/m);
    // The demo model: 12 layers, 8 × 8 image tokens; each layer's map over the image sums to at most 1.
    expect(out).toMatch(/^maps \[12, 64\] first layer sums to (0\.\d+|1\.0)$/m);
  });

  it(`runs its pandas example on the same workspace${skipReason('pandas')}`, async ({ skip }) => {
    if (!pythonHas('pandas')) skip();
    const out = expectRan(runPython(await example('sqlite-pandas'), [workspace, String(runId)]));
    expect(out).toContain(`run ${runId} evolve`);
    expect(out).toContain(`${ITEMS} samples`);
    expect(out).toMatch(/^maps \(12, 64\) last layer's most attended cell: \d+$/m);
  });

  it.for(EXPORT_FORMATS)(
    `runs its export example on the %s export${skipReason('pandas')}`,
    async (format, { skip }) => {
      if (!pythonHas('pandas') || (format === 'parquet' && !pythonHas('pyarrow'))) skip();
      const out = expectRan(runPython(await example('export'), [exports[format]]));
      expect(out).toContain(`evolve run ${runId} ${ITEMS} samples`);
      expect(out).toMatch(/^maps of \S+ \(12, 64\)$/m);
    },
  );
});

describe('exports read by Python alone', () => {
  it.for(EXPORT_FORMATS)(
    `hold every sample, metric and array of the database, value for value (%s)${skipReason()}`,
    (format, { skip }) => {
      if (!pythonHas() || (format === 'parquet' && !pythonHas('pyarrow'))) skip();
      const out = expectRan(runPython(CHECK, [workspace, exports[format]]));
      const report = JSON.parse(out) as Record<string, unknown>;
      expect(report).toMatchObject({ format, ...counts, mismatches: [] });
      if (format === 'npz' && pythonHas('numpy')) expect(report.readers).toContain('numpy');
    },
  );
});
