import { spawnSync } from 'node:child_process';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FusionError } from '../../common/errors.ts';
import { countRows, newRun, TempDirs, withRawDb } from './testing.ts';
import { Workspace, type SampleInput } from './workspace.ts';

const temp = new TempDirs();
let dir: string;
let ws: Workspace;

beforeEach(() => {
  dir = temp.make();
  ws = Workspace.open(dir);
});

afterEach(() => {
  ws.close();
  temp.removeAll();
});

function bits(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The pid of a process that has certainly exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid!;
}

describe('runs', () => {
  it('creates, finds and lists runs with their model and dataset', () => {
    const a = ws.createRun(newRun());
    const b = ws.createRun(newRun({ kind: 'contrast', config: { z: [1, { y: 2, x: 1 }] } }));
    expect(a).toMatchObject({
      kind: 'evolve',
      status: 'running',
      total: 3,
      done: 0,
      failed: 0,
      error: null,
      config: { k: 1 },
      model: { folder: '/models/m', fingerprint: 'fp-1', info: { layers: 2 } },
      dataset: { path: '/data/d.jsonl', format: 'fusionscope-vqa', name: 'd', itemCount: 3 },
    });
    expect(b.model.id).toBe(a.model.id);
    expect(b.dataset.id).toBe(a.dataset.id);
    expect(ws.findRun(a.id)).toEqual(a);
    expect(ws.findRun(999)).toBeUndefined();
    expect(ws.listRuns().map((r) => r.id)).toEqual([b.id, a.id]);
    expect(ws.listRuns({ kind: 'contrast' }).map((r) => r.id)).toEqual([b.id]);
    expect(ws.listRuns({ modelFingerprint: 'other' })).toEqual([]);
  });

  it('rejects bad arguments with BAD_ARGUMENT', () => {
    expect(() => ws.createRun(newRun({ kind: 'Not A Kind!' }))).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT' }),
    );
    expect(() => ws.findRun(0)).toThrow(FusionError);
    expect(() => ws.markRun(42, 'done')).toThrow(/no run 42/);
    const run = ws.createRun(newRun());
    expect(() => ws.markRun(run.id, 'finished' as never)).toThrow(/status must be one of/);
  });

  it('marks a run with a status and an error', () => {
    const run = ws.createRun(newRun());
    expect(ws.markRun(run.id, 'failed', 'disk full')).toMatchObject({ status: 'failed', error: 'disk full' });
    expect(ws.markRun(run.id, 'done')).toMatchObject({ status: 'done', error: null });
  });

  it('marks runs of dead processes interrupted on open, and leaves live ones running', () => {
    const live = ws.createRun(newRun());
    const dead = ws.createRun(newRun());
    withRawDb(dir, (db) => db.prepare('UPDATE runs SET owner_pid = ? WHERE id = ?').run(deadPid(), dead.id));
    ws.close();
    ws = Workspace.open(dir);
    expect(ws.interruptedOnOpen).toEqual([dead.id]);
    expect(ws.findRun(dead.id)?.status).toBe('interrupted');
    expect(ws.findRun(live.id)?.status).toBe('running');
  });

  it('claims an interrupted run, but not one a live process is running', () => {
    const run = ws.createRun(newRun());
    expect(() => ws.claimRun(run.id)).toThrow(/already running in this process/);
    ws.markRun(run.id, 'interrupted');
    expect(ws.claimRun(run.id).status).toBe('running');
  });

  it('finds the newest resumable or done run with the same kind, model, items and config', () => {
    const match = {
      kind: 'evolve' as const,
      modelFingerprint: 'fp-1',
      dataset: newRun().dataset,
      config: { k: 1 },
    };
    expect(ws.findResumable(match)).toBeUndefined();
    ws.markRun(ws.createRun(newRun()).id, 'cancelled');
    const newer = ws.markRun(ws.createRun(newRun()).id, 'interrupted');
    ws.createRun(newRun()); // running, in this live process: never offered
    expect(ws.findResumable(match)?.id).toBe(newer.id);
    ws.markRun(newer.id, 'done'); // done runs are offered too, for reuse
    expect(ws.findResumable(match)?.id).toBe(newer.id);
    const newest = ws.markRun(ws.createRun(newRun()).id, 'failed');
    expect(ws.findResumable(match)?.id).toBe(newest.id);
    // Key order does not matter; anything else does.
    expect(ws.findResumable({ ...match, config: { k: 1 } })?.id).toBe(newest.id);
    expect(ws.findResumable({ ...match, config: { k: 2 } })).toBeUndefined();
    expect(ws.findResumable({ ...match, kind: 'sweep' })).toBeUndefined();
    expect(ws.findResumable({ ...match, modelFingerprint: 'fp-2' })).toBeUndefined();
    expect(
      ws.findResumable({ ...match, dataset: { ...match.dataset, itemIds: ['a', 'b'] } }),
    ).toBeUndefined();
  });

  it('matches configs regardless of key order', () => {
    const run = ws.markRun(
      ws.createRun(newRun({ config: { b: { y: 1, x: [2, 3] }, a: 'z' } })).id,
      'cancelled',
    );
    const match = { kind: 'evolve' as const, modelFingerprint: 'fp-1', dataset: newRun().dataset };
    expect(ws.findResumable({ ...match, config: { a: 'z', b: { x: [2, 3], y: 1 } } })?.id).toBe(run.id);
    expect(ws.findResumable({ ...match, config: { a: 'z', b: { x: [3, 2], y: 1 } } })).toBeUndefined();
  });
});

describe('samples', () => {
  it('round-trips results, metrics and float32 arrays exactly', () => {
    const run = ws.createRun(newRun());
    const tricky = new Float32Array([
      0,
      -0,
      1e-45,
      -3.4028234663852886e38,
      Infinity,
      -Infinity,
      NaN,
      0.1,
      1 / 3,
    ]);
    // A NaN with a non-default payload: the blob must keep the exact bits.
    new Uint32Array(tricky.buffer)[6] = 0x7fc12345;
    const offset = new Float32Array(new ArrayBuffer(64), 8, 4).fill(2.5); // a view at a byte offset
    const result = { answer: 'two cats', probs: [0.25, 0.75], nested: { ok: true, none: null }, text: 'é✓' };
    const metrics = [
      { layer: 0, name: 'drop', value: 0.5 },
      { layer: 1, name: 'drop', value: -1.25 },
      { layer: 0, name: 'hellinger', value: NaN },
      { layer: 1, name: 'hellinger', value: Infinity },
    ];
    const arrays = [
      { name: 'attention', data: tricky, shape: [3, 3] },
      { name: 'offset', data: offset, shape: [2, 2] },
      { name: 'empty', data: new Float32Array(0), shape: [0, 7] },
    ];
    expect(
      ws.recordSample(run.id, { itemId: 'a', status: 'ok', result, metrics, arrays, durationMs: 12.5 }),
    ).toBe(true);

    const [sample] = ws.readSamples(run.id);
    expect(sample).toMatchObject({ itemId: 'a', status: 'ok', result, error: null, durationMs: 12.5 });
    const attention = ws.readArray(run.id, 'a', 'attention')!;
    expect(attention.shape).toEqual([3, 3]);
    expect(attention.dtype).toBe('float32');
    expect(bits(attention.data)).toEqual(bits(tricky));
    expect(Array.from(ws.readArray(run.id, 'a', 'offset')!.data)).toEqual([2.5, 2.5, 2.5, 2.5]);
    expect(ws.readArray(run.id, 'a', 'empty')).toMatchObject({ shape: [0, 7], data: new Float32Array(0) });
    expect(ws.readArray(run.id, 'a', 'missing')).toBeUndefined();
    expect(ws.arrayNames(run.id, 'a')).toEqual(['attention', 'empty', 'offset']);
    expect(ws.sampleMetrics(run.id, 'a')).toEqual([
      { name: 'drop', layer: 0, value: 0.5 },
      { name: 'drop', layer: 1, value: -1.25 },
      { name: 'hellinger', layer: 0, value: NaN },
      { name: 'hellinger', layer: 1, value: Infinity },
    ]);
    expect(ws.metricNames(run.id)).toEqual(['drop', 'hellinger']);
  });

  it('gives per-layer curves of a metric across samples', () => {
    const run = ws.createRun(newRun());
    for (const [i, itemId] of ['b', 'a', 'c'].entries()) {
      const metrics = [0, 1, 2].map((layer) => ({ layer, name: 'drop', value: layer * 10 + i }));
      ws.recordSample(run.id, {
        itemId,
        status: 'ok',
        result: i,
        metrics: [...metrics, { layer: 0, name: 'x', value: 9 }],
      });
    }
    expect(ws.layerMetric(run.id, 'drop')).toEqual([
      { layer: 0, itemIds: ['a', 'b', 'c'], values: [1, 0, 2] },
      { layer: 1, itemIds: ['a', 'b', 'c'], values: [11, 10, 12] },
      { layer: 2, itemIds: ['a', 'b', 'c'], values: [21, 20, 22] },
    ]);
    expect(ws.layerMetric(run.id, 'absent')).toEqual([]);
  });

  it('records error samples and counts them', () => {
    const run = ws.createRun(newRun());
    ws.recordSample(run.id, { itemId: 'a', status: 'ok', result: 1 });
    ws.recordSample(run.id, { itemId: 'b', status: 'error', error: 'image too large', result: 'ignored' });
    expect(ws.readSamples(run.id)).toMatchObject([
      { itemId: 'a', status: 'ok', result: 1, error: null },
      { itemId: 'b', status: 'error', result: null, error: 'image too large' },
    ]);
    expect(ws.findRun(run.id)).toMatchObject({ done: 2, failed: 1 });
    expect(ws.completedItems(run.id)).toEqual(new Set(['a', 'b']));
  });

  it('ignores a second record of the same item: nothing changes, nothing is duplicated', () => {
    const run = ws.createRun(newRun());
    const first = {
      itemId: 'a',
      status: 'ok' as const,
      result: { v: 1 },
      metrics: [{ layer: 0, name: 'drop', value: 1 }],
      arrays: [{ name: 'map', data: new Float32Array([1, 2]), shape: [2] }],
    };
    expect(ws.recordSample(run.id, first)).toBe(true);
    const second = {
      ...first,
      result: { v: 2 },
      metrics: [
        { layer: 0, name: 'drop', value: 2 },
        { layer: 1, name: 'drop', value: 3 },
      ],
      arrays: [{ name: 'map', data: new Float32Array([9, 9]), shape: [2] }],
    };
    expect(ws.recordSample(run.id, second)).toBe(false);
    expect(ws.recordSample(run.id, { itemId: 'a', status: 'error', error: 'late' })).toBe(false);
    expect(ws.readSamples(run.id)).toMatchObject([{ itemId: 'a', status: 'ok', result: { v: 1 } }]);
    expect(ws.findRun(run.id)).toMatchObject({ done: 1, failed: 0 });
    expect(countRows(dir, 'samples')).toBe(1);
    expect(countRows(dir, 'metrics')).toBe(1);
    expect(countRows(dir, 'arrays')).toBe(1);
    expect(Array.from(ws.readArray(run.id, 'a', 'map')!.data)).toEqual([1, 2]);
  });

  it('writes nothing when any part of a sample is invalid', () => {
    const run = ws.createRun(newRun());
    const bad: SampleInput[] = [
      {
        itemId: 'a',
        status: 'ok' as const,
        result: 1,
        arrays: [{ name: 'm', data: new Float32Array(5), shape: [2, 2] }],
      },
      {
        itemId: 'a',
        status: 'ok' as const,
        result: 1,
        metrics: [
          { layer: 0, name: 'drop', value: 1 },
          { layer: 0, name: 'drop', value: 2 },
        ],
      },
      { itemId: 'a', status: 'ok' as const, result: { n: 10n } },
      { itemId: 'a', status: 'ok' as const, result: 1, metrics: [{ layer: 1.5, name: 'drop', value: 1 }] },
    ];
    for (const sample of bad) {
      expect(() => ws.recordSample(run.id, sample)).toThrow(
        expect.objectContaining({ code: 'BAD_ARGUMENT' }),
      );
    }
    expect(() => ws.recordSample(999, { itemId: 'a', status: 'ok', result: 1 })).toThrow(/no run 999/);
    expect(countRows(dir, 'samples')).toBe(0);
    expect(ws.findRun(run.id)?.done).toBe(0);
  });

  it('clears error samples so they can be computed again', () => {
    const run = ws.createRun(newRun());
    ws.recordSample(run.id, { itemId: 'a', status: 'ok', result: 1 });
    ws.recordSample(run.id, { itemId: 'b', status: 'error', error: 'x' });
    expect(ws.clearErrors(run.id)).toBe(1);
    expect(ws.completedItems(run.id)).toEqual(new Set(['a']));
    expect(ws.findRun(run.id)).toMatchObject({ done: 1, failed: 0 });
    expect(ws.recordSample(run.id, { itemId: 'b', status: 'ok', result: 2 })).toBe(true);
  });
});

describe('deleteRun', () => {
  it('cascades to samples, metrics and arrays, and leaves other runs alone', () => {
    const doomed = ws.markRun(ws.createRun(newRun()).id, 'done');
    const kept = ws.markRun(ws.createRun(newRun()).id, 'done');
    for (const run of [doomed, kept]) {
      for (const itemId of ['a', 'b']) {
        ws.recordSample(run.id, {
          itemId,
          status: 'ok',
          result: { itemId },
          metrics: [{ layer: 0, name: 'drop', value: 1 }],
          arrays: [{ name: 'map', data: new Float32Array(4), shape: [4] }],
        });
      }
    }
    expect(ws.deleteRun(doomed.id)).toBe(true);
    expect(ws.deleteRun(doomed.id)).toBe(false);
    expect(ws.findRun(doomed.id)).toBeUndefined();
    for (const table of ['samples', 'metrics', 'arrays']) {
      expect(countRows(dir, table, doomed.id)).toBe(0);
      expect(countRows(dir, table, kept.id)).toBe(2);
    }
    expect(ws.findRun(kept.id)?.done).toBe(2);
  });

  it('refuses to delete a run a live process is computing', () => {
    const run = ws.createRun(newRun());
    expect(() => ws.deleteRun(run.id)).toThrow(/run \d+ is running in this process: cancel it/);
    ws.markRun(run.id, 'cancelled');
    expect(ws.deleteRun(run.id)).toBe(true);
  });
});
