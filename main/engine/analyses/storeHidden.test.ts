/**
 * The hidden-state setting: its text (parsed, spelled one way, refused by name), the size limit, and
 * the stored states against the float64 reference's residual stream (native-models/reference) at every
 * position kind. Tolerance: 1e-4 relative to the largest value compared (the fidelity tests' bar).
 * Then a run through the registry's generic path, and the CLI flag.
 */
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ReferenceLlava } from '../../../native-models/reference/llava.ts';
import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import { runCli } from '../cli.testing.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { runExperiment } from '../experiments/experiment.ts';
import { type LoadedModel } from '../model/openModel.ts';
import { Workspace } from '../store/workspace.ts';
import { openTinyModelFixture, type TinyModelFixture } from './tinyModel.testing.ts';
import { analysisOf } from './registry.ts';
import { prepareItem } from './samples.ts';
import {
  checkHiddenRequest,
  hiddenPositions,
  hiddenRequestText,
  hiddenStateArrays,
  parseHiddenRequest,
} from './storeHidden.ts';

const TOLERANCE = 1e-4;
const LAYERS = 3;
const HIDDEN = 32;

let root: string;
let model: LoadedModel;
let reference: ReferenceLlava;
let items: DatasetItem[];
let dataset: string;

let fixture: TinyModelFixture | undefined;
beforeAll(async () => {
  fixture = await openTinyModelFixture(
    'store-hidden',
    {
      seed: 17,
      dtype: 'F32',
      layout: 'legacy',
      text: { layers: LAYERS, hiddenSize: HIDDEN, heads: 4, kvHeads: 2 },
    },
    { count: 2, seed: 5 },
  );
  ({ root, model, reference, dataset, items } = fixture);
});

afterAll(() => fixture?.close());

describe('the --store-hidden text', () => {
  it('reads layers, positions and a size limit, and spells each request one way', () => {
    expect(parseHiddenRequest('layers=8,0,8, 16')).toEqual({
      layers: [0, 8, 16],
      positions: 'all',
      maxMb: 256,
    });
    expect(parseHiddenRequest(' positions=image ; layers=all;max-mb=1024 ;')).toEqual({
      layers: 'all',
      positions: 'image',
      maxMb: 1024,
    });
    expect(hiddenRequestText(parseHiddenRequest('positions=last;layers=2,1'))).toBe(
      'layers=1,2;positions=last',
    );
    expect(hiddenRequestText(parseHiddenRequest('layers=all;max-mb=1024'))).toBe(
      'layers=all;positions=all;max-mb=1024',
    );
  });

  it('refuses each malformed part by name', () => {
    const cases: [string, RegExp][] = [
      ['positions=all', /say which layers/],
      ['layers=1,x', /layer "x" is not a whole number/],
      ['layers=-1', /layer "-1" is not a whole number/],
      ['layers=1;positions=middle', /positions "middle" is not one of image, question, last, all/],
      ['layers=1;max-mb=0', /max-mb "0" is not a number of MB/],
      ['layers=1;max-mb=lots', /max-mb "lots"/],
      ['layers=1;layers=2', /"layers" is given twice/],
      ['layers=1;depth=3', /unknown part "depth"/],
      ['layers', /"layers" needs a value/],
    ];
    for (const [text, message] of cases) expect(() => parseHiddenRequest(text), text).toThrow(message);
  });

  it('is a setting of every analysis, canonical in the run’s settings and refused with its flag', () => {
    for (const kind of ['evolve', 'eval', 'sweep', 'logit-lens']) {
      const analysis = analysisOf(kind);
      expect(analysis.fields.find((f) => f.name === 'storeHidden')).toMatchObject({
        flag: 'store-hidden',
        type: 'string',
      });
      const config = analysis.parseConfig({ storeHidden: 'positions=image;layers=2,0' });
      expect(config).toMatchObject({ storeHidden: 'layers=0,2;positions=image' });
      expect(analysis.parseConfig(config)).toEqual(config);
      expect(analysis.parseConfig({})).not.toHaveProperty('storeHidden');
    }
    expect(() => analysisOf('evolve').parseConfig({ storeHidden: 'layers=a' })).toThrow(
      /^evolve settings: storeHidden \(--store-hidden\): layer "a"/,
    );
  });
});

describe('checkHiddenRequest', () => {
  const bounds = { layers: 32, heads: 32, imageTokensPerImage: 576, hiddenSize: 4096 };

  it('refuses layers the model lacks', () => {
    expect(() => checkHiddenRequest(parseHiddenRequest('layers=0,31,32,40'), bounds)).toThrow(
      "--store-hidden: layer 32, 40 is outside the model's 32 decoder layers (0..31)",
    );
  });

  it('refuses, before a run, a request over its limit even at its smallest (7B: every layer at every image token)', () => {
    // 32 × 577 × 4096 × 4 bytes = 302.51 MB > 256 MB.
    expect(() => checkHiddenRequest(parseHiddenRequest('layers=all'), bounds)).toThrow(
      /at least 303 MB per sample \(32 layers × 577 positions × 4096 × 4 bytes\), over the 256 MB allowed/,
    );
    expect(() => checkHiddenRequest(parseHiddenRequest('layers=all;max-mb=400'), bounds)).not.toThrow();
    expect(() =>
      checkHiddenRequest(parseHiddenRequest('layers=0,8,16;positions=image'), bounds),
    ).not.toThrow();
    // The image-token count varies (anyres): only what is certain is checked before the run.
    expect(() =>
      checkHiddenRequest(parseHiddenRequest('layers=all;positions=image'), {
        ...bounds,
        imageTokensPerImage: null,
      }),
    ).not.toThrow();
  });
});

describe('stored hidden states vs the float64 reference', () => {
  it('are the residual stream after each chosen layer, at the chosen positions', async () => {
    for (const item of items) {
      const sample = await prepareItem(model, item, {});
      const ref = reference.forward({
        inputIds: [...sample.expandedIds],
        pixelValues: sample.image.pixelValues,
        imageSize: [sample.image.height, sample.image.width],
      });
      const total = sample.expandedIds.length;
      const [start, end] = sample.imageTokenSpan;
      for (const positions of ['image', 'question', 'last', 'all'] as const) {
        const request = parseHiddenRequest(`layers=2,0;positions=${positions}`);
        const arrays = await hiddenStateArrays(model, item, request, {});
        const byName = new Map(arrays.map((a) => [a.name, a]));
        const rows = hiddenPositions(positions, sample);
        expect(rows, positions).toEqual(
          {
            image: Array.from({ length: end - start }, (_, i) => start + i),
            question: Array.from({ length: total - end }, (_, i) => end + i),
            last: [total - 1],
            all: Array.from({ length: total }, (_, i) => i),
          }[positions],
        );
        const states = byName.get('hidden_states')!;
        expect(states.shape).toEqual([2, rows.length, HIDDEN]);
        const expected = [0, 2].flatMap((layer) => rows.flatMap((p) => [...ref.hiddenStates[layer][p]]));
        expect(maxRelativeError(states.data, expected), positions).toBeLessThan(TOLERANCE);
        expect([...byName.get('hidden_layers')!.data]).toEqual([0, 2]);
        expect([...byName.get('hidden_positions')!.data]).toEqual(rows);
        expect([...byName.get('hidden_token_ids')!.data]).toEqual(rows.map((p) => sample.expandedIds[p]));
      }
    }
  });

  it('refuses a sample over the size limit, naming the item and the sizes', async () => {
    // Every layer at every position of a ~100-position prompt: 3 × T × 32 × 4 bytes > 0.001 MB.
    const request = parseHiddenRequest('layers=all;max-mb=0.001');
    await expect(hiddenStateArrays(model, items[0], request, {})).rejects.toThrow(
      new RegExp(
        `hidden states of item '${items[0].id}' would take [\\d.]+ MB per sample \\(3 layers × \\d+ positions × 32 × 4 bytes\\)`,
      ),
    );
  });
});

describe('a run that stores hidden states', () => {
  it('keeps them beside the analysis’s own arrays, for every sample, and as the run’s identity', async () => {
    const workspace = Workspace.open(join(root, 'workspace'));
    try {
      const target = { model, workspace, dataset };
      const plain = await runExperiment(target, { kind: 'evolve', config: {} });
      const stored = await runExperiment(target, {
        kind: 'evolve',
        config: { storeHidden: 'positions=last;layers=1' },
      });
      expect(stored.runId).not.toBe(plain.runId);
      expect(workspace.getRun(stored.runId).config).toMatchObject({ storeHidden: 'layers=1;positions=last' });
      for (const item of items) {
        expect(workspace.arrayNames(plain.runId, item.id)).toEqual(['maps']);
        expect(workspace.arrayNames(stored.runId, item.id)).toEqual([
          'hidden_layers',
          'hidden_positions',
          'hidden_states',
          'hidden_token_ids',
          'maps',
        ]);
        const sample = await prepareItem(model, item, {});
        const ref = reference.forward({
          inputIds: [...sample.expandedIds],
          pixelValues: sample.image.pixelValues,
          imageSize: [sample.image.height, sample.image.width],
        });
        const states = workspace.readArray(stored.runId, item.id, 'hidden_states')!;
        expect(states.shape).toEqual([1, 1, HIDDEN]);
        expect(
          maxRelativeError(states.data, ref.hiddenStates[1][sample.expandedIds.length - 1]),
        ).toBeLessThan(TOLERANCE);
        // The analysis's own arrays are what a run without the setting stores.
        expect(workspace.readArray(stored.runId, item.id, 'maps')).toEqual(
          workspace.readArray(plain.runId, item.id, 'maps'),
        );
      }
      // The same request spelled another way is the same run.
      const again = await runExperiment(
        target,
        { kind: 'evolve', config: { storeHidden: 'layers=1;positions=last' } },
        { resume: 'auto' },
      );
      expect(again.runId).toBe(stored.runId);
      await expect(
        runExperiment(target, { kind: 'evolve', config: { storeHidden: 'layers=3' } }),
      ).rejects.toThrow(/layer 3 is outside the model's 3 decoder layers/);
    } finally {
      workspace.close();
    }
  });

  it('is asked for with --store-hidden on any analysis command', async () => {
    const workspace = join(root, 'cli');
    const args = ['eval', '--model', join(root, 'model'), '--dataset', dataset, '--workspace', workspace];
    const { code, stderr } = await runCli([...args, '--store-hidden', 'layers=0;positions=image']);
    expect(stderr).not.toMatch(/error/);
    expect(code).toBe(0);
    const opened = Workspace.open(workspace);
    try {
      const [run] = opened.listRuns();
      expect(run.config).toMatchObject({ storeHidden: 'layers=0;positions=image' });
      const states = opened.readArray(run.id, items[0].id, 'hidden_states')!;
      expect(states.shape.slice(0, 1)).toEqual([1]);
      expect(states.shape[2]).toBe(HIDDEN);
    } finally {
      opened.close();
    }
    const bad = await runCli([...args, '--store-hidden', 'layers=0;positions=middle']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--store-hidden\): positions "middle" is not one of/);
  });
});
