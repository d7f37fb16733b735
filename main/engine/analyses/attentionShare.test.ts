/**
 * Attention share against the float64 reference's full attention rows (native-models/reference): the
 * answer position's probabilities over every key, summed here over the image span, the positions
 * before it, the text after it and the position itself. Tolerance: 1e-4 relative to the largest share
 * compared (the fidelity tests' bar); each head's shares sum to 1 within float32 rounding (1e-5).
 * Then forward's new option leaves its other outputs as they were, and a run end to end.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ReferenceLlava } from '../../../native-models/reference/llava.ts';
import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import type { AttentionShareItemResult } from '../../common/analysis.ts';
import { runCli } from '../cli.testing.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { runExperiment } from '../experiments/experiment.ts';
import { forward, imageColumns } from '../inference/forward.ts';
import { type LoadedModel } from '../model/openModel.ts';
import { writeReport } from '../report/writeReport.ts';
import { Workspace } from '../store/workspace.ts';
import { openTinyModelFixture, type TinyModelFixture } from './tinyModel.testing.ts';
import { attentionShareAnalysis, positionParts, summarizeAttentionShare } from './attentionShare.ts';
import { prepareItem } from './samples.ts';

const TOLERANCE = 1e-4;
const LAYERS = 3;
const HEADS = 4;
const ITEMS = 3;

let root: string;
let model: LoadedModel;
let reference: ReferenceLlava;
let items: DatasetItem[];
let dataset: string;

let fixture: TinyModelFixture | undefined;
beforeAll(async () => {
  fixture = await openTinyModelFixture(
    'attention-share',
    {
      seed: 62,
      dtype: 'F32',
      layout: 'legacy',
      text: { layers: LAYERS, heads: HEADS, kvHeads: 2 },
    },
    { count: ITEMS, seed: 11 },
  );
  ({ root, model, reference, dataset, items } = fixture);
});

afterAll(() => fixture?.close());

const signal = () => new AbortController().signal;

describe('positionParts', () => {
  it('splits the sequence into prefix, image, text and the last position', () => {
    expect([...positionParts([[2, 5]], 8)]).toEqual([1, 1, 0, 0, 0, 2, 2, 3]);
    // Two images: the text between them counts as text after the first image.
    expect([
      ...positionParts(
        [
          [1, 2],
          [3, 4],
        ],
        6,
      ),
    ]).toEqual([1, 0, 2, 0, 2, 3]);
    // The image first (InstructBLIP's queries): no prefix.
    expect([...positionParts([[0, 3]], 5)]).toEqual([0, 0, 0, 2, 3]);
  });
});

describe('attention share vs the float64 reference', () => {
  it('splits each head’s attention from the answer position as the reference’s full rows do', async () => {
    const config = attentionShareAnalysis.parseConfig({});
    for (const item of items) {
      const out = await attentionShareAnalysis.perSample(model, item, config, signal());
      const sample = await prepareItem(model, item, {});
      const ref = reference.forward({
        inputIds: [...sample.expandedIds],
        pixelValues: sample.image.pixelValues,
        imageSize: [sample.image.height, sample.image.width],
      });
      const [start, end] = sample.imageTokenSpan;
      const last = sample.expandedIds.length - 1;
      const sum = (row: Float64Array, from: number, to: number) =>
        row.subarray(from, to).reduce((a, b) => a + b, 0);
      // [layer][head][image, prefix, text, self], in float64 from the reference's rows over every key.
      const expected = ref.attention.map((layer) =>
        layer.map(([row]) => [sum(row, start, end), sum(row, 0, start), sum(row, end, last), row[last]]),
      );
      const shares = out.arrays!.find((a) => a.name === 'head_shares')!;
      expect(shares.shape).toEqual([LAYERS, HEADS, 4]);
      expect(maxRelativeError(shares.data, expected.flat(2))).toBeLessThan(TOLERANCE);
      for (let i = 0; i < LAYERS * HEADS; i++) {
        const head = shares.data.subarray(i * 4, i * 4 + 4);
        expect(Math.abs(head.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
      }
      // Layer metrics are the head means.
      const metric = (name: string, layer: number) =>
        out.metrics!.find((m) => m.name === name && m.layer === layer)!.value;
      expected.forEach((layer, l) => {
        ['image_share', 'prefix_share', 'text_share', 'self_share'].forEach((name, k) => {
          const mean = layer.reduce((a, head) => a + head[k], 0) / HEADS;
          expect(Math.abs(metric(name, l) - mean)).toBeLessThan(TOLERANCE);
        });
      });
      const result = out.result as AttentionShareItemResult;
      expect(result.tokens).toEqual({ image: end - start, prefix: start, text: last - end, self: 1 });
    }
  });

  it('adds the full rows to forward only when asked, leaving its other outputs unchanged', async () => {
    const sample = await prepareItem(model, items[0], {});
    const plain = await forward(model, sample);
    const full = await forward(model, sample, { keepFullAttention: true });
    expect(plain.fullAttention).toBeUndefined();
    expect(full.fullAttention).toHaveLength(LAYERS);
    expect(full.lastLogits).toEqual(plain.lastLogits);
    expect(full.attention).toEqual(plain.attention);
    expect(full.imageAttention).toEqual(plain.imageAttention);
    const total = sample.expandedIds.length;
    full.fullAttention!.forEach((probs, l) => {
      expect(probs).toHaveLength(HEADS * total);
      expect(imageColumns(probs, HEADS, 1, total, sample.imageTokenSpan)).toEqual(plain.attention[l]);
    });
  });
});

describe('an attention-share run', () => {
  it('summarises each share per layer and flags the layers below the threshold', async () => {
    const workspace = Workspace.open(join(root, 'workspace'));
    try {
      const target = { model, workspace, dataset };
      const all = await runExperiment(target, {
        kind: 'attention-share',
        config: { imageShareThreshold: 1 },
      });
      const none = await runExperiment(target, {
        kind: 'attention-share',
        config: { imageShareThreshold: 0 },
      });
      const flaggedAll = summarizeAttentionShare(workspace, all.runId);
      expect(flaggedAll).toMatchObject({ sampleCount: ITEMS, layerCount: LAYERS, threshold: 1 });
      expect(flaggedAll.flaggedLayers).toEqual([0, 1, 2]);
      expect(flaggedAll.flaggedFraction).toEqual([1, 1, 1]);
      const summary = summarizeAttentionShare(workspace, none.runId);
      expect(summary.flaggedLayers).toEqual([]);
      expect(summary.flaggedFraction).toEqual([0, 0, 0]);
      for (let l = 0; l < LAYERS; l++) {
        const total = (['image', 'prefix', 'text', 'self'] as const).reduce(
          (a, p) => a + summary.shares[p][l].mean,
          0,
        );
        expect(Math.abs(total - 1)).toBeLessThan(1e-5);
        expect(summary.shares.image[l].lower).toBeLessThanOrEqual(summary.shares.image[l].upper);
      }
      // A threshold between the layers' mean image shares flags exactly the layers below it.
      const image = summary.shares.image.map((s) => s.mean);
      const cut =
        [...image]
          .sort((a, b) => a - b)
          .slice(0, 2)
          .reduce((a, b) => a + b, 0) / 2;
      const middle = await runExperiment(target, {
        kind: 'attention-share',
        config: { imageShareThreshold: cut },
      });
      const samples = workspace.readSamples<AttentionShareItemResult>(middle.runId);
      const split = summarizeAttentionShare(workspace, middle.runId);
      expect(split.flaggedLayers).toEqual(image.flatMap((v, l) => (v < cut ? [l] : [])));
      expect(split.flaggedFraction).toEqual(
        image.map((_, l) => samples.filter((s) => s.result!.flaggedLayers.includes(l)).length / ITEMS),
      );
      expect(attentionShareAnalysis.describe(split, workspace.getRun(middle.runId)).at(-1)).toContain(
        `image share below ${cut} at layers ${split.flaggedLayers.join(', ')}`,
      );

      const out = join(root, 'report');
      const written = await writeReport(workspace, model, out);
      expect(written).toEqual(
        expect.arrayContaining([
          'answer-attention-share.svg',
          'answer-attention-share.png',
          'answer-attention-share.csv',
        ]),
      );
      const csv = (await readFile(join(out, 'answer-attention-share.csv'), 'utf8')).trim().split('\r\n');
      expect(csv[0]).toBe(
        'layer,image_share,image_lower,image_upper,prefix_share,prefix_lower,prefix_upper,text_share,text_lower,text_upper,self_share,self_lower,self_upper,flagged_fraction,flagged',
      );
      expect(csv).toHaveLength(1 + LAYERS);
    } finally {
      workspace.close();
    }
  });
});

describe('fusionscope attention-share', () => {
  it('runs on the demo model and prints its summary', async () => {
    const { code, stdout: printed } = await runCli([
      'attention-share',
      '--limit',
      '2',
      '--workspace',
      join(root, 'cli'),
    ]);
    expect(code).toBe(0);
    expect(printed).toMatch(/^attention-share run \d+: 2 samples, 12 layers$/m);
    expect(printed).toMatch(/^ {2}image {3}(\d\.\d{3} ){11}\d\.\d{3}$/m);
    expect(printed).toMatch(
      /^ {2}image share (below 0\.01 at layers [\d, ]+|at or above 0\.01 at every layer)/m,
    );
  });
});
