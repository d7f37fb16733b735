import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import type { RunProgress } from '../../common/runs.ts';
import { STALE_AFTER_MS } from '../store/owner.ts';
import { countRows, TempDirs, withRawDb } from '../store/testing.ts';
import { DATABASE_FILE, Workspace } from '../store/workspace.ts';
import { RecentDurations, runOverDataset, type RunAttach } from './runner.ts';
import {
  FAKE_LAYERS,
  fakeItems,
  fakeOutput,
  fakeSpec,
  waitFor,
  workFor,
  type FakeResult,
} from './runner.testing.ts';

const temp = new TempDirs();
const open: Workspace[] = [];

function workspace(): Workspace {
  const ws = Workspace.open(temp.make('fusionscope-runner-'));
  open.push(ws);
  return ws;
}

afterEach(() => {
  for (const ws of open.splice(0)) ws.close();
  temp.removeAll();
});

/** Everything a run stored, in a form toEqual compares exactly (array bytes included). */
function snapshot(ws: Workspace, runId: number) {
  const samples = ws.readSamples<FakeResult>(runId);
  return {
    samples: samples.map(({ itemId, status, result, error }) => ({ itemId, status, result, error })),
    metrics: ws.metricNames(runId).map((name) => ({ name, curve: ws.layerMetric(runId, name) })),
    arrays: samples.map((s) => {
      const array = ws.readArray(runId, s.itemId, 'attention');
      return array && { shape: array.shape, bytes: Buffer.from(array.data.buffer).toString('hex') };
    }),
  };
}

/** A run of `count` fake items computed without interruption in a fresh workspace. */
async function reference(count: number) {
  const ws = workspace();
  const { runId, status } = await runOverDataset(ws, fakeSpec(count));
  expect(status).toBe('done');
  return snapshot(ws, runId);
}

/** perSample that records which items it computed. */
function tracking(computed: string[]) {
  return async (item: { id: string }) => {
    computed.push(item.id);
    return fakeOutput(item.id);
  };
}

describe('runOverDataset', () => {
  it('computes every item once, in order, and reports progress', async () => {
    const ws = workspace();
    const computed: string[] = [];
    const events: RunProgress[] = [];
    const outcome = await runOverDataset(ws, fakeSpec(6, tracking(computed)), {
      onProgress: (e) => events.push(e),
    });
    expect(outcome.status).toBe('done');
    expect(computed).toEqual(fakeItems(6).map((i) => i.id));
    expect(ws.findRun(outcome.runId)).toMatchObject({
      status: 'done',
      total: 6,
      done: 6,
      failed: 0,
      error: null,
    });
    expect(events.map((e) => [e.itemId, e.done, e.total])).toEqual([
      [null, 0, 6],
      ...computed.map((id, i) => [id, i + 1, 6]),
    ]);
    expect(events[0].etaSeconds).toBeNull();
    expect(
      events.slice(1).every((e) => e.runId === outcome.runId && e.etaSeconds !== null && e.etaSeconds >= 0),
    ).toBe(true);
    expect(events[events.length - 1].etaSeconds).toBe(0);
    const stored = snapshot(ws, outcome.runId);
    expect(stored.samples.map((s) => s.result)).toEqual(computed.map((id) => fakeOutput(id).result));
    expect(stored.metrics.map((m) => m.curve.length)).toEqual([FAKE_LAYERS, FAKE_LAYERS]);
  });

  it('records a throwing sample as an error and goes on', async () => {
    const ws = workspace();
    const events: RunProgress[] = [];
    const spec = fakeSpec(5, async (item) => {
      if (item.id === 'item-001') throw new Error(`boom ${item.id}`);
      if (item.id === 'item-003')
        return { ...fakeOutput(item.id), arrays: [{ name: 'bad', data: new Float32Array(3), shape: [2] }] };
      return fakeOutput(item.id);
    });
    const { runId, status } = await runOverDataset(ws, spec, { onProgress: (e) => events.push(e) });
    expect(status).toBe('done');
    expect(ws.findRun(runId)).toMatchObject({ status: 'done', done: 5, failed: 2 });
    const samples = ws.readSamples(runId);
    expect(samples.map((s) => [s.itemId, s.status])).toEqual([
      ['item-000', 'ok'],
      ['item-001', 'error'],
      ['item-002', 'ok'],
      ['item-003', 'error'],
      ['item-004', 'ok'],
    ]);
    expect(samples[1]).toMatchObject({ error: 'boom item-001', result: null });
    expect(samples[3].error).toMatch(/array 'bad' has 3 elements/);
    expect(ws.sampleMetrics(runId, 'item-003')).toEqual([]); // nothing of a refused output is kept
    expect(events[events.length - 1]).toMatchObject({ done: 5, failed: 2 });
  });

  it('cancels: the in-flight sample is not recorded, and a resume computes exactly the rest', async () => {
    const ws = workspace();
    const controller = new AbortController();
    const spec = fakeSpec(10, async (item, signal) => {
      if (item.id === 'item-004') {
        controller.abort();
        await workFor(60_000, signal); // a model pass that honours the signal
      }
      return fakeOutput(item.id);
    });
    const cancelled = await runOverDataset(ws, spec, { signal: controller.signal });
    expect(cancelled.status).toBe('cancelled');
    expect(ws.findRun(cancelled.runId)).toMatchObject({ status: 'cancelled', done: 4 });
    expect(ws.completedItems(cancelled.runId)).toEqual(
      new Set(['item-000', 'item-001', 'item-002', 'item-003']),
    );

    const computed: string[] = [];
    const resumed = await runOverDataset(ws, fakeSpec(10, tracking(computed)), { resume: 'auto' });
    expect(resumed).toEqual({ runId: cancelled.runId, status: 'done' });
    expect(computed).toEqual(
      fakeItems(10)
        .slice(4)
        .map((i) => i.id),
    );
    expect(snapshot(ws, resumed.runId)).toEqual(await reference(10));
    expect(ws.listRuns()).toHaveLength(1);
  });

  it('does not keep a result that completes after cancel', async () => {
    const ws = workspace();
    const controller = new AbortController();
    const spec = fakeSpec(3, async (item) => {
      if (item.id === 'item-001') controller.abort(); // and ignores it
      return fakeOutput(item.id);
    });
    const { runId, status } = await runOverDataset(ws, spec, { signal: controller.signal });
    expect(status).toBe('cancelled');
    expect(ws.completedItems(runId)).toEqual(new Set(['item-000']));
  });

  it('a run cancelled before it starts computes nothing', async () => {
    const ws = workspace();
    const computed: string[] = [];
    const { runId, status } = await runOverDataset(ws, fakeSpec(3, tracking(computed)), {
      signal: AbortSignal.abort(),
    });
    expect(status).toBe('cancelled');
    expect(computed).toEqual([]);
    expect(ws.findRun(runId)).toMatchObject({ status: 'cancelled', done: 0 });
  });

  it("'auto' starts a new run when the unfinished one differs, and returns the same run once it is done", async () => {
    const ws = workspace();
    const controller = new AbortController();
    controller.abort();
    const first = await runOverDataset(ws, fakeSpec(3), { signal: controller.signal });
    const otherConfig = await runOverDataset(ws, fakeSpec(3, undefined, { mode: 'knockout' }), {
      resume: 'auto',
    });
    expect(otherConfig.runId).not.toBe(first.runId);
    const otherItems = await runOverDataset(ws, fakeSpec(4), { resume: 'auto' });
    expect(otherItems.runId).not.toBe(first.runId);
    const same = await runOverDataset(ws, fakeSpec(3), { resume: 'auto' });
    expect(same.runId).toBe(first.runId);
    const again = await runOverDataset(ws, fakeSpec(3), { resume: 'auto' });
    expect(again).toEqual({ runId: first.runId, status: 'done' });
  });

  it('resumes a run by id only for the same computation; a done run needs no work', async () => {
    const ws = workspace();
    const { runId } = await runOverDataset(ws, fakeSpec(3));
    await expect(
      runOverDataset(ws, fakeSpec(3, undefined, { mode: 'knockout' }), { resume: runId }),
    ).rejects.toThrow(/cannot resume run \d+: its config differs/);
    await expect(runOverDataset(ws, fakeSpec(4), { resume: runId })).rejects.toThrow(/different items/);
    await expect(runOverDataset(ws, { ...fakeSpec(3), kind: 'eval' }, { resume: runId })).rejects.toThrow(
      /sweep run, not eval/,
    );
    await expect(runOverDataset(ws, fakeSpec(3), { resume: 404 })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
    });
    const computed: string[] = [];
    expect(await runOverDataset(ws, fakeSpec(3, tracking(computed)), { resume: runId })).toEqual({
      runId,
      status: 'done',
    });
    expect(computed).toEqual([]);
  });

  it('retryErrors computes the error samples again and only those', async () => {
    const ws = workspace();
    let flaky = true;
    const computed: string[] = [];
    const spec = fakeSpec(4, async (item) => {
      computed.push(item.id);
      if (item.id === 'item-002' && flaky) throw new Error('out of memory');
      return fakeOutput(item.id);
    });
    const { runId } = await runOverDataset(ws, spec);
    expect(ws.findRun(runId)).toMatchObject({ status: 'done', failed: 1 });
    flaky = false;
    computed.length = 0;
    expect(await runOverDataset(ws, spec, { resume: runId, retryErrors: true })).toEqual({
      runId,
      status: 'done',
    });
    expect(computed).toEqual(['item-002']);
    expect(ws.findRun(runId)).toMatchObject({ done: 4, failed: 0 });
    expect(snapshot(ws, runId)).toEqual(await reference(4));
  });

  it('a failure outside perSample marks the run failed, keeps its samples, and it resumes', async () => {
    const ws = workspace();
    const onProgress = (e: RunProgress): void => {
      if (e.done === 2) throw new Error('progress view crashed');
    };
    await expect(runOverDataset(ws, fakeSpec(5), { onProgress })).rejects.toThrow('progress view crashed');
    const [run] = ws.listRuns();
    expect(run).toMatchObject({ status: 'failed', error: 'progress view crashed', done: 2 });
    const computed: string[] = [];
    expect(await runOverDataset(ws, fakeSpec(5, tracking(computed)), { resume: 'auto' })).toEqual({
      runId: run.id,
      status: 'done',
    });
    expect(computed).toEqual(['item-002', 'item-003', 'item-004']);
    expect(ws.findRun(run.id)).toMatchObject({ status: 'done', error: null });
  });

  it('refuses duplicate item ids', async () => {
    const ws = workspace();
    const spec = fakeSpec(2);
    const items = [...spec.dataset.items, spec.dataset.items[0]];
    await expect(runOverDataset(ws, { ...spec, dataset: { ...spec.dataset, items } })).rejects.toThrow(
      /item id 'item-000' twice/,
    );
    expect(ws.listRuns()).toEqual([]);
  });
});

describe('RecentDurations', () => {
  it('estimates from the mean of the recent durations only', () => {
    const recent = new RecentDurations(3);
    expect(recent.etaSeconds(10)).toBeNull();
    recent.add(1000);
    expect(recent.etaSeconds(10)).toBe(10);
    for (const ms of [100, 200, 300]) recent.add(ms);
    expect(recent.etaSeconds(10)).toBe(2); // the 1000 ms sample has left the window
    expect(recent.etaSeconds(0)).toBe(0);
  });
});

/** Makes run `runId` look claimed by a live runner on another host (which cannot be checked from here). */
function claimElsewhere(dir: string, runId: number, heartbeatAt = Date.now()): void {
  withRawDb(dir, (db) =>
    db
      .prepare(
        `UPDATE runs SET status = 'running', owner_pid = 1, owner_host = 'elsewhere', owner_start = NULL,
                         claim_token = 'foreign', heartbeat_at = ? WHERE id = ?`,
      )
      .run(heartbeatAt, runId),
  );
}

describe('one runner per computation', () => {
  it('a second identical start follows the first: one run, every item computed once, same outcome', async () => {
    const ws = workspace();
    const computed: string[] = [];
    const attached: RunAttach[] = [];
    const followed: RunProgress[] = [];
    const slow = async (item: { id: string }, signal: AbortSignal) => {
      computed.push(item.id);
      await workFor(20, signal);
      return fakeOutput(item.id);
    };
    const [first, second] = await Promise.all([
      runOverDataset(ws, fakeSpec(8, slow)),
      runOverDataset(ws, fakeSpec(8, slow), {
        onAttach: (e) => attached.push(e),
        onProgress: (e) => followed.push(e),
      }),
    ]);
    expect(second).toEqual(first);
    expect(first.status).toBe('done');
    expect(computed).toEqual(fakeItems(8).map((i) => i.id));
    expect(ws.listRuns()).toHaveLength(1);
    expect(attached).toEqual([{ runId: first.runId, by: 'this process' }]);
    expect(followed[0]).toMatchObject({ runId: first.runId, total: 8, itemId: null });
    expect(followed[followed.length - 1]).toMatchObject({ runId: first.runId, done: 8, total: 8 });
    expect(snapshot(ws, first.runId)).toEqual(await reference(8));
  });

  it('two resumes of one unfinished run: one computes the rest, the other follows it', async () => {
    const ws = workspace();
    const controller = new AbortController();
    const stopAt2 = async (item: { id: string }) => {
      if (item.id === 'item-002') controller.abort();
      return fakeOutput(item.id);
    };
    const cancelled = await runOverDataset(ws, fakeSpec(6, stopAt2), { signal: controller.signal });
    expect(cancelled.status).toBe('cancelled');

    const computed: string[] = [];
    const attached: RunAttach[] = [];
    const slow = async (item: { id: string }, signal: AbortSignal) => {
      computed.push(item.id);
      await workFor(20, signal);
      return fakeOutput(item.id);
    };
    const outcomes = await Promise.all(
      [1, 2].map(() =>
        runOverDataset(ws, fakeSpec(6, slow), {
          resume: cancelled.runId,
          onAttach: (e) => attached.push(e),
        }),
      ),
    );
    expect(outcomes).toEqual([
      { runId: cancelled.runId, status: 'done' },
      { runId: cancelled.runId, status: 'done' },
    ]);
    expect(computed).toEqual(['item-002', 'item-003', 'item-004', 'item-005']);
    expect(attached).toHaveLength(1);
    expect(ws.listRuns()).toHaveLength(1);
  });

  it('a follower returns the outcome of a run another host computes, and takes over a silent one', async () => {
    const ws = workspace();
    const dir = ws.dir;
    const computed: string[] = [];
    // Another host computes run `busy`: its claim beats, so it is followed, not computed again.
    const busy = ws.createRun({
      kind: 'sweep',
      model: fakeSpec(3).model,
      dataset: { ...fakeSpec(3).dataset, itemIds: fakeItems(3).map((i) => i.id) },
      config: fakeSpec(3).config,
    });
    claimElsewhere(dir, busy.id);
    const attached: RunAttach[] = [];
    const outcome = await runOverDataset(ws, fakeSpec(3, tracking(computed)), {
      resume: 'auto',
      onAttach: (e) => {
        attached.push(e);
        // The other host finishes the run (the follower reads only what it writes).
        for (const [position, item] of fakeItems(3).entries()) {
          ws.recordSample(busy.id, { itemId: item.id, position, status: 'ok', ...fakeOutput(item.id) });
        }
        withRawDb(dir, (db) =>
          db.prepare(`UPDATE runs SET status = 'done', claim_token = NULL WHERE id = ?`).run(busy.id),
        );
      },
    });
    expect(attached).toEqual([{ runId: busy.id, by: 'process 1 on elsewhere' }]);
    expect(outcome).toEqual({ runId: busy.id, status: 'done' });
    expect(computed).toEqual([]);

    // A claim whose heartbeat stopped longer ago than STALE_AFTER_MS holds no more: taken over at once.
    const silent = await runOverDataset(ws, fakeSpec(4), { signal: AbortSignal.abort() });
    claimElsewhere(dir, silent.runId, Date.now() - STALE_AFTER_MS - 1_000);
    const takeover = await runOverDataset(ws, fakeSpec(4, tracking(computed)), {
      resume: 'auto',
      onAttach: (e) => attached.push(e),
    });
    expect(takeover).toEqual({ runId: silent.runId, status: 'done' });
    expect(computed).toEqual(fakeItems(4).map((i) => i.id));
    expect(attached).toHaveLength(1);
  });

  it('a runner whose claim was taken over writes nothing more and follows the run instead', async () => {
    const ws = workspace();
    const computed: string[] = [];
    const attached: RunAttach[] = [];
    let runId = 0;
    const spec = fakeSpec(5, async (item) => {
      computed.push(item.id);
      // While item-002 is computed, a runner elsewhere takes the run over (this one looked hung).
      if (item.id === 'item-002' && computed.length === 3) claimElsewhere(ws.dir, runId);
      return fakeOutput(item.id);
    });
    const outcome = await runOverDataset(ws, spec, {
      onProgress: (e) => (runId = e.runId),
      onAttach: (e) => {
        attached.push(e);
        // ...and then goes silent, so this runner takes the run back.
        claimElsewhere(ws.dir, e.runId, 0);
      },
    });
    expect(outcome).toEqual({ runId, status: 'done' });
    expect(attached).toEqual([{ runId, by: 'process 1 on elsewhere' }]);
    // item-002's first result was refused (the claim was gone); it was computed again after the takeover.
    expect(computed).toEqual(['item-000', 'item-001', 'item-002', 'item-002', 'item-003', 'item-004']);
    expect(snapshot(ws, runId)).toEqual(await reference(5));
  });

  it('a cancelled follower returns at once and leaves the run to its runner', async () => {
    const ws = workspace();
    const run = ws.createRun({
      kind: 'sweep',
      model: fakeSpec(2).model,
      dataset: { ...fakeSpec(2).dataset, itemIds: fakeItems(2).map((i) => i.id) },
      config: fakeSpec(2).config,
    });
    claimElsewhere(ws.dir, run.id);
    const controller = new AbortController();
    const computed: string[] = [];
    const outcome = await runOverDataset(ws, fakeSpec(2, tracking(computed)), {
      resume: run.id,
      signal: controller.signal,
      onAttach: () => controller.abort(),
    });
    expect(outcome).toEqual({ runId: run.id, status: 'cancelled' });
    expect(computed).toEqual([]);
    expect(ws.findRun(run.id)?.status).toBe('running');
  });
});

describe('across processes', () => {
  const CHILD = fileURLToPath(new URL('./runner.child.testing.ts', import.meta.url));
  const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

  /** The newest run as another process sees it, read-only; undefined until the child has created it. */
  function peek(dir: string): { id: number; status: string; done: number } | undefined {
    if (!existsSync(join(dir, DATABASE_FILE))) return undefined;
    try {
      return withRawDb(
        dir,
        (db: Database.Database) =>
          db.prepare('SELECT id, status, done FROM runs ORDER BY id DESC LIMIT 1').get() as
            { id: number; status: string; done: number } | undefined,
        true,
      );
    } catch (error) {
      // The child may still be creating the file or its tables.
      if (/no such table|SQLITE_BUSY|SQLITE_CANTOPEN|database is locked/.test(String(error)))
        return undefined;
      throw error;
    }
  }

  /** runner.child.testing.ts in a process of its own, its stdout lines collected as they come. */
  class Child {
    readonly process: ChildProcess;
    readonly lines: string[] = [];
    stderr = '';
    exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    readonly exited: Promise<void>;

    constructor(args: { dir: string; count: number; delayMs: number; stallAt: number; goFile?: string }) {
      const argv = [args.dir, args.count, args.delayMs, args.stallAt, ...(args.goFile ? [args.goFile] : [])];
      this.process = spawn(process.execPath, ['--import', 'tsx', CHILD, ...argv.map(String)], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let partial = '';
      this.process.stdout!.on('data', (chunk) => {
        const text = partial + String(chunk);
        const complete = text.split('\n');
        partial = complete.pop()!;
        this.lines.push(...complete);
      });
      this.process.stderr!.on('data', (chunk) => (this.stderr += String(chunk)));
      this.exited = new Promise((resolve) =>
        this.process.on('exit', (code, signal) => {
          this.exit = { code, signal };
          resolve();
        }),
      );
    }

    /** Waits for a line starting with `prefix`; fails at once if the child exits first. */
    line(prefix: string): Promise<string> {
      return waitFor(`a "${prefix}" line from the child`, () => {
        const found = this.lines.find((l) => l.startsWith(prefix));
        if (found === undefined && this.exit !== undefined) {
          throw new Error(`child exited (${JSON.stringify(this.exit)}) without "${prefix}": ${this.stderr}`);
        }
        return found;
      });
    }

    computed(): string[] {
      return this.lines.filter((l) => l.startsWith('computed ')).map((l) => l.slice('computed '.length));
    }

    async outcome(): Promise<unknown> {
      await this.exited;
      expect(this.exit, this.stderr).toEqual({ code: 0, signal: null });
      return JSON.parse((await this.line('outcome ')).slice('outcome '.length));
    }

    async kill(): Promise<void> {
      if (this.exit === undefined) this.process.kill('SIGKILL');
      await this.exited;
    }
  }

  const children: Child[] = [];
  function child(args: ConstructorParameters<typeof Child>[0]): Child {
    const started = new Child(args);
    children.push(started);
    return started;
  }
  afterEach(async () => {
    for (const started of children.splice(0)) await started.kill();
  });

  function expectEveryItemOnce(dir: string, runId: number, items: number): void {
    expect(countRows(dir, 'runs')).toBe(1);
    expect(countRows(dir, 'samples', runId)).toBe(items);
    expect(countRows(dir, 'metrics', runId)).toBe(items * FAKE_LAYERS * 2);
    expect(countRows(dir, 'arrays', runId)).toBe(items);
  }

  it('continues a killed run: every item exactly once, results equal to an uninterrupted run', async () => {
    const ITEMS = 30;
    const STALL_AT = 20;
    const dir = temp.make('fusionscope-kill-');
    const killed = child({ dir, count: ITEMS, delayMs: 40, stallAt: STALL_AT });
    const seen = await waitFor('the child to record 5 samples', () => {
      if (killed.exit !== undefined) throw new Error(`child exited early: ${killed.stderr}`);
      const run = peek(dir);
      return run !== undefined && run.done >= 5 ? run : undefined;
    });

    // While the child lives, its run is not interrupted and nobody else computes it: a resume follows it.
    const meanwhile = Workspace.open(dir);
    try {
      expect(meanwhile.interruptedOnOpen).toEqual([]);
      expect(meanwhile.findRun(seen.id)?.status).toBe('running');
      const controller = new AbortController();
      const attached: RunAttach[] = [];
      const computed: string[] = [];
      const outcome = await runOverDataset(meanwhile, fakeSpec(ITEMS, tracking(computed)), {
        resume: seen.id,
        signal: controller.signal,
        onAttach: (e) => {
          attached.push(e);
          controller.abort();
        },
      });
      expect(outcome).toEqual({ runId: seen.id, status: 'cancelled' });
      expect(attached).toEqual([
        { runId: seen.id, by: expect.stringMatching(`^process ${killed.process.pid} on `) },
      ]);
      expect(computed).toEqual([]);
    } finally {
      meanwhile.close();
    }

    await killed.kill();
    expect(killed.exit).toEqual({ code: null, signal: 'SIGKILL' });
    const left = peek(dir)!;
    expect(left.status).toBe('running'); // nobody could mark it: the process died mid-run
    expect(left.done).toBeGreaterThanOrEqual(5);
    expect(left.done).toBeLessThanOrEqual(STALL_AT);

    const ws = Workspace.open(dir);
    open.push(ws);
    expect(ws.interruptedOnOpen).toEqual([left.id]);
    expect(ws.findRun(left.id)?.status).toBe('interrupted');
    const before = ws.completedItems(left.id);
    expect(before.size).toBe(left.done);

    const computed: string[] = [];
    const outcome = await runOverDataset(ws, fakeSpec(ITEMS, tracking(computed)), { resume: 'auto' });
    expect(outcome).toEqual({ runId: left.id, status: 'done' });
    expect(computed).toEqual(
      fakeItems(ITEMS)
        .map((i) => i.id)
        .filter((id) => !before.has(id)),
    );
    expect(ws.findRun(left.id)).toMatchObject({ status: 'done', total: ITEMS, done: ITEMS, failed: 0 });
    expect(snapshot(ws, left.id)).toEqual(await reference(ITEMS));
    expectEveryItemOnce(dir, left.id, ITEMS);
  });

  it('two identical sweeps started together: one run, each item computed once, the same outcome', async () => {
    const ITEMS = 12;
    const dir = temp.make('fusionscope-twice-');
    Workspace.open(dir).close(); // both children open an existing, migrated workspace
    const go = join(dir, 'go');
    // Slow enough items (80 ms) that the run is still going when the later of the two acquires it.
    const pair = [0, 1].map(() => child({ dir, count: ITEMS, delayMs: 80, stallAt: ITEMS, goFile: go }));
    await Promise.all(pair.map((c) => c.line('ready')));
    writeFileSync(go, '');
    const outcomes = await Promise.all(pair.map((c) => c.outcome()));

    const [{ runId }] = outcomes as { runId: number }[];
    expect(outcomes).toEqual([
      { runId, status: 'done' },
      { runId, status: 'done' },
    ]);
    // Exactly one child computed, every item once, in order; the other followed its progress to the end.
    const computed = pair.map((c) => c.computed());
    const runner = computed[0].length > 0 ? 0 : 1;
    expect(computed[runner]).toEqual(fakeItems(ITEMS).map((i) => i.id));
    expect(computed[1 - runner]).toEqual([]);
    const follower = pair[1 - runner].lines;
    expect(follower).toContain(`attached ${runId}`);
    expect(follower).toContain(`progress ${ITEMS}/${ITEMS}`);
    expectEveryItemOnce(dir, runId, ITEMS);
    const ws = Workspace.open(dir);
    open.push(ws);
    expect(snapshot(ws, runId)).toEqual(await reference(ITEMS));
  });

  it('a follower takes over when the runner it follows is killed, and finishes the run', async () => {
    const ITEMS = 30;
    const STALL_AT = 20;
    const dir = temp.make('fusionscope-takeover-');
    const first = child({ dir, count: ITEMS, delayMs: 40, stallAt: STALL_AT });
    const seen = await waitFor('the first child to record 5 samples', () => {
      if (first.exit !== undefined) throw new Error(`child exited early: ${first.stderr}`);
      const run = peek(dir);
      return run !== undefined && run.done >= 5 ? run : undefined;
    });
    const second = child({ dir, count: ITEMS, delayMs: 5, stallAt: ITEMS });
    await second.line(`attached ${seen.id}`);
    expect(second.computed()).toEqual([]); // following, not computing

    await first.kill();
    expect(await second.outcome()).toEqual({ runId: seen.id, status: 'done' });
    // The follower computed exactly what the killed runner had not recorded: a tail of the items.
    const computed = second.computed();
    const recordedByFirst = ITEMS - computed.length;
    expect(recordedByFirst).toBeGreaterThanOrEqual(5);
    expect(recordedByFirst).toBeLessThanOrEqual(STALL_AT);
    expect(computed).toEqual(
      fakeItems(ITEMS)
        .slice(recordedByFirst)
        .map((i) => i.id),
    );
    expectEveryItemOnce(dir, seen.id, ITEMS);
    const ws = Workspace.open(dir);
    open.push(ws);
    expect(ws.findRun(seen.id)).toMatchObject({ status: 'done', done: ITEMS, failed: 0 });
    expect(snapshot(ws, seen.id)).toEqual(await reference(ITEMS));
  });
});
