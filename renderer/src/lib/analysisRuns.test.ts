import { describe, expect, it } from 'vitest';

import type { SampleListEntry } from '../../../main/common/api/index.ts';
import type { RunRow } from '../../../main/common/runs.ts';
import {
  contrastSampleRows,
  layerSampleRows,
  parseLayerList,
  parseLimit,
  pickRun,
  queryRunId,
  runsFor,
  uniqueNames,
} from './analysisRuns.ts';

function run(
  id: number,
  kind: RunRow['kind'],
  model: string,
  dataset: string,
  status: RunRow['status'] = 'done',
) {
  return {
    id,
    kind,
    status,
    model: { id: 1, folder: model, fingerprint: '', info: null },
    dataset: { id: 1, path: dataset, format: 'x', name: 'd', itemCount: 1, itemsHash: '' },
    config: {},
    provenance: null,
    total: 1,
    done: 1,
    failed: 0,
    error: null,
    createdAt: id,
    updatedAt: id,
  } satisfies RunRow;
}

// newest first, as the runs store keeps them
const runs = [
  run(6, 'sweep', '/m', '/d', 'running'),
  run(5, 'evolve', '/m', '/d'),
  run(4, 'sweep', '/m', '/other'),
  run(3, 'sweep', '/m', '/d'),
  run(2, 'sweep', '/m2', '/d'),
  run(1, 'sweep', '/m', '/d'),
];

describe('pickRun', () => {
  it('shows the newest finished run of the kind for the model and dataset', () => {
    expect(pickRun(runs, 'sweep', '/m', '/d')?.id).toBe(3);
    expect(pickRun(runs, 'evolve', '/m', '/d')?.id).toBe(5);
    expect(pickRun(runs, 'contrast', '/m', '/d')).toBeUndefined();
    expect(pickRun(runs, 'sweep', null, '/d')).toBeUndefined();
  });

  it('prefers the run named in the URL when it is of the kind, whatever its model or status', () => {
    expect(pickRun(runs, 'sweep', '/m', '/d', 2)?.id).toBe(2);
    expect(pickRun(runs, 'sweep', '/m', '/d', 6)?.id).toBe(6);
    expect(pickRun(runs, 'sweep', '/m', '/d', 5)?.id).toBe(3); // an evolve run: not for this view
    expect(pickRun(runs, 'sweep', '/m', '/d', 99)?.id).toBe(3);
  });

  it('lists the finished runs for the chooser', () => {
    expect(runsFor(runs, 'sweep', '/m', '/d').map((r) => r.id)).toEqual([3, 1]);
  });

  it('reads the run id from the query', () => {
    expect(queryRunId('12')).toBe(12);
    expect(queryRunId(['7'])).toBe(7);
    expect(queryRunId('x')).toBeUndefined();
    expect(queryRunId('-1')).toBeUndefined();
    expect(queryRunId(undefined)).toBeUndefined();
  });
});

describe('fields', () => {
  it('read the limit: empty or 0 for all, whole numbers otherwise', () => {
    expect(parseLimit('')).toEqual({ limit: undefined });
    expect(parseLimit(' 0 ')).toEqual({ limit: undefined });
    expect(parseLimit(40)).toEqual({ limit: 40 });
    expect(parseLimit('2.5')).toEqual({ error: expect.stringMatching(/"2.5"/) });
    expect(parseLimit('-3')).toEqual({ error: expect.stringMatching(/whole number/) });
  });

  it('read layer lists with ranges', () => {
    expect(parseLayerList('4, 2 8-10,2')).toEqual({ layers: [2, 4, 8, 9, 10] });
    expect(parseLayerList('')).toEqual({ layers: [] });
    expect(parseLayerList('3-1')).toEqual({ error: expect.stringMatching(/backwards/) });
    expect(parseLayerList('two')).toEqual({ error: expect.stringMatching(/"two"/) });
  });
});

const item = (id: string) => ({
  id,
  question: `q${id}`,
  answers: ['red', 'crimson'],
  family: 'color',
  metric: 'vqa',
  boxes: [],
  imagePath: '/x.png',
});

describe('sample tables', () => {
  it('compare each answer with the image masked at a layer against the unmasked one', () => {
    const samples: SampleListEntry[] = [
      {
        itemId: 'a',
        status: 'ok',
        result: { baselineAnswer: 'Red', baselineScore: 1, maskedAnswers: ['red ', 'blue'] },
        error: null,
        durationMs: 1,
        item: item('a'),
      },
      { itemId: 'b', status: 'error', result: null, error: 'boom', durationMs: 1, item: item('b') },
    ];
    expect(layerSampleRows(samples, 0)).toEqual([
      { itemId: 'a', question: 'qa', gold: 'red / crimson', baseline: 'Red', masked: 'red ', changed: false },
    ]);
    expect(layerSampleRows(samples, 1)[0]).toMatchObject({ masked: 'blue', changed: true });
    expect(layerSampleRows(samples, 2)).toEqual([]);
  });

  it('list baseline and refined answers per sample', () => {
    const rows = contrastSampleRows([
      {
        itemId: 'a',
        status: 'ok',
        result: {
          preLayer: 2,
          maskedTokens: [1],
          crops: {},
          baselineAnswer: 'red',
          baselineScore: 1,
          refined: { mask: { answer: 'blue', score: 0 } },
        },
        error: null,
        durationMs: 1,
        item: item('a'),
      },
    ]);
    expect(rows[0]).toMatchObject({ preLayer: 2, baseline: { answer: 'red', score: 1 }, question: 'qa' });
    expect(rows[0].refined.mask?.answer).toBe('blue');
  });

  it('give several models distinct names', () => {
    expect(uniqueNames(['demo', 'ctrl', 'demo'])).toEqual(['demo', 'ctrl', 'demo (2)']);
  });
});
