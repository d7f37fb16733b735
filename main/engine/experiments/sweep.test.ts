import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import { writeTinyLlava, type TinyLlavaOptions } from '../../../native-models/testing/tinyLlava.ts';
import { writeTinyQwen } from '../../../native-models/testing/tinyQwen.ts';
import { sweepConfig } from '../analyses/sweep.ts';
import { blocksPerCall } from '../inference/batchedDecoder.ts';
import { prepareSample, type PreparedSample } from '../inference/forward.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { donorStates, prepareDonor } from './donors.ts';
import {
  donorCount,
  SWEEP_BATCH_BYTES,
  sweepSample,
  sweepWindows,
  sweepWork,
  windowGroups,
  type SweepConfig,
} from './sweep.ts';

interface Fixture {
  readonly model: LoadedModel;
  readonly sample: PreparedSample;
  /** Other images prepared with the sample's prompt, for the resample and mean fills. */
  readonly donors: readonly PreparedSample[];
}

const fixtures = new Map<string, Fixture>();
const dirs: string[] = [];

async function fixture(name: string, write: (dir: string) => Promise<unknown>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), `fusionscope-sweep-${name}-`));
  dirs.push(dir);
  await write(dir);
  const model = await openModel(dir, { provider: 'cpu' });
  const data = new Uint8Array(28 * 28 * 3).map((_, i) => (i * 53) % 256);
  const sample = await prepareSample(model, {
    image: { width: 28, height: 28, data },
    prompt: { kind: 'question', text: 'what color is the circle' },
  });
  // The second donor is wider: where the layout follows the size (Qwen) it is resized to match.
  const donors = await Promise.all(
    [28, 42].map((width, k) =>
      prepareDonor(model, sample, {
        id: `donor ${k}`,
        image: {
          width,
          height: 28,
          data: new Uint8Array(width * 28 * 3).map((_, i) => (i * (17 + k)) % 251),
        },
      }),
    ),
  );
  fixtures.set(name, { model, sample, donors });
}

const llava = (text: TinyLlavaOptions['text']) => (dir: string) =>
  writeTinyLlava(dir, { seed: 31, dtype: 'F32', layout: 'modern', text: { layers: 4, ...text } });

beforeAll(async () => {
  await fixture('llama', llava({}));
  // A window shorter than the prompt, so question rows lose the image's first tokens to it.
  await fixture('mistral', llava({ modelType: 'mistral', slidingWindow: 12 }));
  // M-RoPE: three position streams, the text after the image resuming past the grid's extent.
  await fixture('qwen', (dir) =>
    writeTinyQwen(dir, { family: 'qwen2_vl', seed: 71, dtype: 'F32', layout: 'modern', text: { layers: 4 } }),
  );
}, 120_000);

afterAll(async () => {
  for (const { model } of fixtures.values()) await model.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Batch budgets for a knockout sweep of `sample`: every window in one call, two per call, one per call. */
function knockoutBudgets({ model, sample }: Fixture): Record<string, number> {
  const prefix = sample.imageTokenSpan[1];
  const rows = sample.expandedIds.length - prefix;
  const heads = model.spec.decoder.heads;
  const twoPerCall = 2 * rows * (prefix + 2 * rows) * heads * 4;
  const layers = model.spec.decoder.layers;
  expect(blocksPerCall(layers, rows, prefix, heads, SWEEP_BATCH_BYTES)).toBe(layers);
  expect(blocksPerCall(layers, rows, prefix, heads, twoPerCall)).toBe(2);
  return { 'all windows per call': SWEEP_BATCH_BYTES, 'two per call': twoPerCall, 'one per call': 1 };
}

const CONFIGS: [string, SweepConfig][] = (
  [
    ['knockout, window 1', { mode: 'knockout', maxNewTokens: 3 }],
    ['knockout, window 2, token subset', { mode: 'knockout', window: 2, tokens: [1, 4, 9], maxNewTokens: 3 }],
    ['knockout, window 1, one-token answers', { mode: 'knockout', maxNewTokens: 1 }],
    ['knockout of the answer position only', { mode: 'knockout', queries: 'last', maxNewTokens: 2 }],
    ['knockout in heads 0 and 1 only', { mode: 'knockout', heads: [0, 1], maxNewTokens: 2 }],
    [
      'knockout of the question rows only, window 2',
      { mode: 'knockout', queries: 'question', window: 2, maxNewTokens: 2 },
    ],
    ['hidden zero, window 1', { mode: 'hidden', maxNewTokens: 3 }],
    [
      'hidden 0.1, window 3, token subset',
      { mode: 'hidden', scale: 0.1, window: 3, tokens: [2, 3, 11], maxNewTokens: 3 },
    ],
    ['hidden resample, window 1', { mode: 'hidden', fill: 'resample', maxNewTokens: 3 }],
    [
      'hidden mean of 2 donors, window 2, token subset',
      { mode: 'hidden', fill: 'mean', donors: 2, window: 2, tokens: [1, 4, 9], maxNewTokens: 3 },
    ],
  ] as const
).map(([label, config]) => [label, sweepConfig.parse(config)]);

describe.each(['llama', 'mistral', 'qwen'])(
  '%s: the cached masking sweep equals a naive full recompute',
  (name) => {
    it.each(CONFIGS)('%s', async (_, config) => {
      const fx = fixtures.get(name);
      if (!fx) throw new Error(`no fixture ${name}`);
      const { model, sample } = fx;
      const donors = fx.donors.slice(0, donorCount(config));
      const naive = await sweepSample(model, sample, config, { strategy: 'naive', donors });
      const budgets =
        config.mode === 'knockout' ? knockoutBudgets(fx) : { 'one per call': SWEEP_BATCH_BYTES };
      for (const [label, batchBytes] of Object.entries(budgets)) {
        const cached = await sweepSample(model, sample, config, { strategy: 'cached', batchBytes, donors });
        expect(
          cached.masked.map((m) => m.layers),
          label,
        ).toEqual(naive.masked.map((m) => m.layers));
        let changed = 0;
        cached.masked.forEach((outcome, i) => {
          const where = `${label}, window ${outcome.layers.join('-')}`;
          expect(maxRelativeError(outcome.lastLogits, naive.masked[i].lastLogits), where).toBeLessThan(1e-5);
          expect(outcome.answer.tokenIds, where).toEqual(naive.masked[i].answer.tokenIds);
          if (maxRelativeError(outcome.lastLogits, cached.baseline.lastLogits) > 1e-3) changed++;
        });
        // The masking must actually do something, or equality would prove nothing.
        expect(changed, label).toBeGreaterThan(0);
      }
    });
  },
);

describe.each(['llama', 'qwen'])('%s: resample and mean fills', (name) => {
  const fx = () => {
    const found = fixtures.get(name);
    if (!found) throw new Error(`no fixture ${name}`);
    return found;
  };

  it.each([1, 2])(
    'resampling the sample’s own states (window %i) leaves every answer as unmasked',
    async (window) => {
      const { model, sample } = fx();
      const config = sweepConfig.parse({ mode: 'hidden', fill: 'resample', window, maxNewTokens: 3 });
      for (const strategy of ['naive', 'cached'] as const) {
        const sweep = await sweepSample(model, sample, config, { strategy, donors: [sample] });
        expect(sweep.masked).toHaveLength(model.spec.decoder.layers - window + 1);
        for (const outcome of sweep.masked) {
          const where = `${strategy}, window ${outcome.layers.join('-')}`;
          expect(maxRelativeError(outcome.lastLogits, sweep.baseline.lastLogits), where).toBeLessThan(1e-5);
          expect(outcome.answer.tokenIds, where).toEqual(sweep.baseline.answer.tokenIds);
        }
      }
    },
  );

  it('gives a donor of another size the recipient’s layout, and averages donors position-wise', async () => {
    const { model, sample, donors } = fx();
    for (const donor of donors) {
      expect(donor.expandedIds).toEqual(sample.expandedIds);
      expect(donor.positions.streams).toEqual(sample.positions.streams);
    }
    // LLaVA's fixed grid lays out any size alike, so the wide donor keeps its size; Qwen's grid follows
    // the size, so the wide donor was resized to the recipient's.
    const kept = name === 'qwen' ? [28, 28] : [42, 28];
    expect(donors.map((d) => [d.source.width, d.source.height])).toEqual([[28, 28], kept]);
    if (name === 'qwen') {
      const natural = await prepareSample(model, { image: donors[1].source, prompt: sample.prompt });
      const wide = await prepareSample(model, {
        image: { width: 42, height: 28, data: new Uint8Array(42 * 28 * 3) },
        prompt: sample.prompt,
      });
      expect(natural.imageLayout.count).toBe(sample.imageLayout.count);
      expect(wide.imageLayout.count).not.toBe(sample.imageLayout.count);
    }
    const [a, b] = await Promise.all(donors.map((d) => donorStates(model, [d])));
    const mean = await donorStates(model, donors);
    const layers = model.spec.decoder.layers;
    expect([...mean.keys()]).toEqual(Array.from({ length: layers }, (_, l) => l));
    for (let layer = 0; layer < layers; layer++) {
      const expected = a.get(layer)!.map((v, j) => (v + b.get(layer)![j]) / 2);
      expect(maxRelativeError(mean.get(layer)!, expected), `layer ${layer}`).toBeLessThan(1e-6);
    }
    expect(maxRelativeError(a.get(1)!, b.get(1)!)).toBeGreaterThan(1e-3);
  });

  it('refuses as many donors as the fill does not take', async () => {
    const { model, sample, donors } = fx();
    const config = sweepConfig.parse({ mode: 'hidden', fill: 'mean', donors: 3, maxNewTokens: 1 });
    await expect(sweepSample(model, sample, config, { donors })).rejects.toThrow(
      /fill mean takes 3 donor image\(s\), got 2/,
    );
  });
});

describe('sweep bookkeeping', () => {
  it('enumerates windows of k consecutive layers and rejects impossible ones', () => {
    expect(sweepWindows(4, 2)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    expect(() => sweepWindows(4, 5)).toThrow(/window must be an integer in 1\.\.4, got 5/);
  });

  it('groups windows consecutively and as evenly as the batch size allows', () => {
    expect(windowGroups(4, 4)).toEqual([[0, 1, 2, 3]]);
    expect(windowGroups(5, 4)).toEqual([
      [0, 1],
      [2, 3, 4],
    ]);
    expect(windowGroups(3, 1)).toEqual([[0], [1], [2]]);
  });

  it('bounds a batched call by its attention scores, to at least one block and at most all', () => {
    // 3 blocks of 10 rows after 20 cached positions, 2 heads: 30 × 50 × 2 × 4 bytes.
    expect(blocksPerCall(8, 10, 20, 2, 30 * 50 * 2 * 4)).toBe(3);
    expect(blocksPerCall(8, 10, 20, 2, 30 * 50 * 2 * 4 - 1)).toBe(2);
    expect(blocksPerCall(8, 10, 20, 2, 0)).toBe(1);
    expect(blocksPerCall(8, 10, 20, 2, Infinity)).toBe(8);
  });

  it('work ratio on a LLaVA-1.5-shaped sample is the north star’s order (≈12× at 16 layers, ≈19× at 32)', () => {
    // 576 image tokens + ~24 text tokens; knockout recomputes the ~20 question rows.
    expect(sweepWork(16, 1, 600, 20).ratio).toBeCloseTo((16 * 16 * 600) / (16 * 600 + 136 * 20), 9);
    expect(sweepWork(32, 1, 600, 20).ratio).toBeGreaterThan(19);
  });
});
