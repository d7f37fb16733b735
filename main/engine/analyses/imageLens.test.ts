/**
 * The image-token lens against an independent float64 read-out: the reference implementation's
 * residual stream after each layer at every image position (native-models/reference), through the
 * final RMSNorm and LM head computed here in float64. Tolerance: 1e-4 relative to the largest value
 * compared (float32 graphs vs float64 loops leave ~1e-6 on these O(1) activations; the fidelity tests'
 * bar). Top-1 tokens, and so the shares of tokens ranking the gold token, must match exactly. Then the
 * head in row chunks, a layer subset, a run end to end (summary, report) and the CLI on the demo model.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { linear, rmsNorm, softmax } from '../../../native-models/reference/math.ts';
import { ReferenceLlava } from '../../../native-models/reference/llava.ts';
import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import type { ImageLensItemResult } from '../../common/analysis.ts';
import { lensCellText } from '../../common/charts/imageLens.ts';
import type { SampleOutput } from '../../common/runs.ts';
import { runCli } from '../cli.testing.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { runExperiment } from '../experiments/experiment.ts';
import { forward } from '../inference/forward.ts';
import { type LoadedModel } from '../model/openModel.ts';
import { writeReport } from '../report/writeReport.ts';
import { Workspace } from '../store/workspace.ts';
import { openTinyModelFixture, type TinyModelFixture } from './tinyModel.testing.ts';
import { imageLensAnalysis, summarizeImageLens } from './imageLens.ts';
import { storedLensLayer } from './imageLensReads.ts';
import { lensRow, lensRows } from './lens.ts';
import { goldToken, prepareItem } from './samples.ts';

const TOLERANCE = 1e-4;
const LAYERS = 4;
const ITEMS = 3;
/** Wide enough that the gold token is within the top k of some image tokens of a random model. */
const TOP_K = 40;

let root: string;
let model: LoadedModel;
let reference: ReferenceLlava;
let items: DatasetItem[];
let dataset: string;

let fixture: TinyModelFixture | undefined;
beforeAll(async () => {
  fixture = await openTinyModelFixture(
    'image-lens',
    {
      seed: 67,
      dtype: 'F32',
      layout: 'modern',
      text: { layers: LAYERS },
    },
    { count: ITEMS, seed: 5 },
  );
  ({ root, model, reference, dataset, items } = fixture);
});

afterAll(() => fixture?.close());

const signal = () => new AbortController().signal;

/** Per layer and image token, the float64 lens: logits and probabilities over the vocabulary. */
async function referenceLens(
  item: DatasetItem,
): Promise<{ logits: Float64Array[][]; probs: Float64Array[][] }> {
  const sample = await prepareItem(model, item, {});
  const out = reference.forward({
    inputIds: [...sample.expandedIds],
    pixelValues: sample.image.pixelValues,
    imageSize: [sample.image.height, sample.image.width],
  });
  const [start, end] = sample.imageTokenSpan;
  expect(out.imageTokenSpan).toEqual([start, end]);
  const { norm, lmHead } = reference.weights.decoder;
  const eps = reference.config.text.rmsNormEps;
  const logits = out.hiddenStates.map((layer) =>
    layer.slice(start, end).map((h) => linear(rmsNorm(h, norm, eps), lmHead)),
  );
  return { logits, probs: logits.map((rows) => rows.map((l) => softmax(l))) };
}

const argmax = (v: Float64Array) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function arrayOf(out: SampleOutput, name: string): { data: Float32Array; shape: readonly number[] } {
  const array = out.arrays?.find((a) => a.name === name);
  if (!array) throw new Error(`no ${name} array`);
  return array;
}

function metricOf(out: SampleOutput, name: string): [number, number][] {
  return (out.metrics ?? []).filter((m) => m.name === name).map((m) => [m.layer, m.value]);
}

describe('image lens vs the float64 reference', () => {
  it('gives every layer’s top-1 token and probability per image token, and the patch metrics', async () => {
    const config = imageLensAnalysis.parseConfig({ topK: TOP_K });
    let goldSeen = 0;
    for (const item of items) {
      const gold = goldToken(model, item)!;
      expect(gold, item.id).toBeDefined();
      const out = await imageLensAnalysis.perSample(model, item, config, signal());
      const result = out.result as ImageLensItemResult;
      const ref = await referenceLens(item);
      const n = ref.probs[0].length;
      expect(n).toBe(16); // 4 × 4 patches of the tiny tower
      expect(result).toMatchObject({ layers: [0, 1, 2, 3], modelLayers: LAYERS, tokens: n, onImage: true });

      const tokens = arrayOf(out, 'top1_token');
      const probs = arrayOf(out, 'top1_prob');
      expect(tokens.shape).toEqual([LAYERS, n]);
      expect(probs.shape).toEqual([LAYERS, n]);
      const refTop = ref.probs.map((rows) => rows.map(argmax));
      expect(Array.from(tokens.data)).toEqual(refTop.flat());
      const refTop1 = ref.probs.flatMap((rows, l) => rows.map((p, i) => p[refTop[l][i]]));
      expect(maxRelativeError(probs.data, refTop1)).toBeLessThan(TOLERANCE);
      for (const t of new Set(refTop.flat()))
        expect(result.texts[String(t)]).toBe(model.tokenizer.decode([t]));
      expect(Object.keys(result.texts)).toHaveLength(new Set(refTop.flat()).size);

      const layers = ref.probs.map((_, l) => l);
      const ranks = ref.logits.map((rows) => rows.map((l) => 1 + l.filter((v) => v > l[gold]).length));
      const expected = {
        patch_top1_prob: ref.probs.map((rows, l) => mean(rows.map((p, i) => p[refTop[l][i]]))),
        patch_gold_top1: ranks.map((r) => mean(r.map((x) => (x === 1 ? 1 : 0)))),
        patch_gold_topk: ranks.map((r) => mean(r.map((x) => (x <= TOP_K ? 1 : 0)))),
        patch_gold_prob_max: ref.probs.map((rows) => Math.max(...rows.map((p) => p[gold]))),
      };
      for (const [name, values] of Object.entries(expected)) {
        const got = metricOf(out, name);
        expect(
          got.map(([l]) => l),
          name,
        ).toEqual(layers);
        // Shares of 16 tokens are exact fractions; the others within the tolerance.
        if (name.startsWith('patch_gold_top'))
          expect(
            got.map(([, v]) => v),
            name,
          ).toEqual(values);
        else
          expect(
            maxRelativeError(
              got.map(([, v]) => v),
              values,
            ),
            name,
          ).toBeLessThan(TOLERANCE);
      }
      goldSeen += expected.patch_gold_topk.reduce((a, b) => a + b, 0);
      expect(result.goldToken).toBe(gold);
      expect(result.goldText).toBe(model.tokenizer.decode([gold]));
    }
    // Otherwise the gold shares above would compare zeros only.
    expect(goldSeen).toBeGreaterThan(0);
  });

  it('reads the last layer’s last image token as the head does on the model’s own final stream', async () => {
    const item = items[0];
    const sample = await prepareItem(model, item, {});
    const out = await imageLensAnalysis.perSample(model, item, imageLensAnalysis.parseConfig({}), signal());
    const pass = await forward(model, sample, { keepCache: true });
    const last = sample.imageTokenSpan[1] - 1;
    const [own] = await lensRows(model, pass.cache!.pass.hidden, [last], 1);
    const n = (out.result as ImageLensItemResult).tokens;
    expect(arrayOf(out, 'top1_token').data[LAYERS * n - 1]).toBe(own.top[0].token);
    expect(arrayOf(out, 'top1_prob').data[LAYERS * n - 1]).toBeCloseTo(own.top1Prob, 6);
  });
});

describe('lensRows', () => {
  it('sends the rows through the head in chunks the budget allows, with the same read-outs as one call', async () => {
    const item = items[1];
    const sample = await prepareItem(model, item, {});
    const pass = await forward(model, sample, { keepCache: true });
    const [start, end] = sample.imageTokenSpan;
    const positions = Array.from({ length: end - start }, (_, i) => start + i);
    const hidden = pass.cache!.pass.layerInputs[2]!;
    const gold = goldToken(model, item);
    const whole = await lensRows(model, hidden, positions, 3, gold);
    const run = vi.spyOn(model.sessions.head, 'run');
    try {
      const vocab = model.spec.decoder.vocabSize;
      const chunked = await lensRows(model, hidden, positions, 3, gold, 3 * vocab);
      expect(run).toHaveBeenCalledTimes(Math.ceil(positions.length / 3));
      expect(chunked.map((r) => r.top.map((t) => t.token))).toEqual(
        whole.map((r) => r.top.map((t) => t.token)),
      );
      expect(chunked.map((r) => r.goldRank)).toEqual(whole.map((r) => r.goldRank));
      expect(
        maxRelativeError(
          chunked.map((r) => r.top1Prob),
          whole.map((r) => r.top1Prob),
        ),
      ).toBeLessThan(1e-6);
      // A budget under one row still reads one row per call.
      run.mockClear();
      await lensRows(model, hidden, positions.slice(0, 2), 1, undefined, 1);
      expect(run).toHaveBeenCalledTimes(2);
    } finally {
      run.mockRestore();
    }
    expect(lensRow([0, 2, 1], 2, 2)).toMatchObject({ goldRank: 2, top: [{ token: 1 }, { token: 2 }] });
  });
});

describe('a layer subset', () => {
  it('records only the chosen layers, once each and ascending, with the full run’s values there', async () => {
    const item = items[2];
    const all = await imageLensAnalysis.perSample(model, item, imageLensAnalysis.parseConfig({}), signal());
    const some = await imageLensAnalysis.perSample(
      model,
      item,
      imageLensAnalysis.parseConfig({ layers: [3, 1, 3] }),
      signal(),
    );
    const n = (all.result as ImageLensItemResult).tokens;
    expect((some.result as ImageLensItemResult).layers).toEqual([1, 3]);
    const tokens = arrayOf(some, 'top1_token');
    expect(tokens.shape).toEqual([2, n]);
    const full = arrayOf(all, 'top1_token').data;
    expect(Array.from(tokens.data)).toEqual([...full.subarray(n, 2 * n), ...full.subarray(3 * n, 4 * n)]);
    expect([...new Set(some.metrics!.map((m) => m.layer))]).toEqual([1, 3]);
  });

  it('refuses layers the model does not have, naming them', () => {
    const config = imageLensAnalysis.parseConfig({ layers: [1, 4, 9] });
    expect(() =>
      imageLensAnalysis.check(config, { layers: LAYERS, heads: 4, imageTokensPerImage: 16 }),
    ).toThrow(/image-lens layers must be decoder layers within 0\.\.3, got 4, 9/);
    expect(() => imageLensAnalysis.parseConfig({ layers: [] })).toThrow(/layers \(--layers\)/);
  });
});

describe('an image-lens run', () => {
  it('summarises per-layer means with intervals, reads layers back, and reports curves and grids', async () => {
    const workspace = Workspace.open(join(root, 'workspace'));
    try {
      const outcome = await runExperiment(
        { model, workspace, dataset },
        { kind: 'image-lens', config: { topK: 3, layers: [0, 2, 3] } },
      );
      expect(outcome.status).toBe('done');
      const summary = summarizeImageLens(workspace, outcome.runId);
      expect(summary).toMatchObject({ sampleCount: ITEMS, topK: 3 });
      const samples = workspace.readSamples<ImageLensItemResult>(outcome.runId);
      for (const name of ['patch_top1_prob', 'patch_gold_top1', 'patch_gold_topk', 'patch_gold_prob_max']) {
        const curve = summary.curves[name as keyof typeof summary.curves]!;
        expect(curve.map((s) => s.layer)).toEqual([0, 2, 3]);
        expect(curve.map((s) => s.depth)).toEqual([0, 2 / 3, 1]);
        for (const s of curve) {
          const values = samples.map(
            (x) =>
              workspace
                .sampleMetrics(outcome.runId, x.itemId)
                .find((m) => m.name === name && m.layer === s.layer)!.value,
          );
          expect(s.mean).toBeCloseTo(mean(values), 12);
          expect(s.lower).toBeLessThanOrEqual(s.mean + 1e-12);
          expect(s.upper).toBeGreaterThanOrEqual(s.mean - 1e-12);
          expect(s.n).toBe(ITEMS);
        }
      }
      const lines = imageLensAnalysis.describe(summary, workspace.getRun(outcome.runId));
      expect(lines[0]).toBe(`image-lens run ${outcome.runId}: ${ITEMS} samples, 3 layers`);
      expect(lines).toContainEqual(expect.stringMatching(/^ {2}patch_gold_top3 +(\d\.\d{3} ){2}\d\.\d{3}$/));

      const first = samples[0];
      const stored = storedLensLayer(workspace, outcome.runId, first.itemId, 2);
      expect(stored.tokens).toHaveLength(16);
      for (const t of stored.tokens) expect(first.result!.texts[String(t)]).toBeDefined();
      expect(() => storedLensLayer(workspace, outcome.runId, first.itemId, 1)).toThrow(
        /recorded layers 0, 2, 3 of the image tokens, not layer 1/,
      );

      const out = join(root, 'report');
      const written = await writeReport(workspace, model, out);
      expect(written).toEqual(expect.arrayContaining(['image-lens.svg', 'image-lens.png', 'image-lens.csv']));
      const csv = await readFile(join(out, 'image-lens.csv'), 'utf8');
      expect(csv.split('\r\n')[0]).toBe(
        'layer,patch_top1_prob,patch_top1_prob_lower,patch_top1_prob_upper,patch_gold_top1,patch_gold_top1_lower,patch_gold_top1_upper,patch_gold_topk,patch_gold_topk_lower,patch_gold_topk_upper,patch_gold_prob_max,patch_gold_prob_max_lower,patch_gold_prob_max_upper',
      );
      expect(csv.trim().split('\r\n')).toHaveLength(1 + 3);
      const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
      const section = report['image-lens'];
      expect(section).toMatchObject({ runId: outcome.runId, samples: ITEMS, topK: 3 });
      expect(section.drawnSamples.length).toBeGreaterThan(0);
      const drawn = section.drawnSamples[0] as { itemId: string; layers: number[] };
      expect(drawn.layers).toEqual([0, 2, 3]);
      const grid = await readFile(join(out, `image-lens-${drawn.itemId}.svg`), 'utf8');
      expect(written).toContain(`image-lens-${drawn.itemId}.png`);
      expect(grid).toContain('layer 2');
      expect(grid).toContain('n = 16 of the 16 image tokens (the 4 × 4 patches grid)');
      // Every cell's label: its top-1 token at the layer drawn (shortened the way the chart does).
      const cells = storedLensLayer(workspace, outcome.runId, drawn.itemId, 3);
      for (const t of cells.tokens) {
        const text = lensCellText(cells.result.texts[String(t)]);
        expect(grid).toContain(
          `>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}<`,
        );
      }
    } finally {
      workspace.close();
    }
  });
});

describe('fusionscope image-lens', () => {
  it('runs on the demo model and prints its summary', async () => {
    const {
      code,
      stdout: printed,
      stderr,
    } = await runCli([
      'image-lens',
      '--limit',
      '2',
      '--top-k',
      '3',
      '--layers',
      '0,4,7',
      '--workspace',
      join(root, 'cli'),
    ]);
    expect(code, stderr).toBe(0);
    expect(printed).toMatch(/^image-lens run \d+: 2 samples, 3 layers$/m);
    expect(printed).toMatch(/^ {2}layer {19}0 {5}4 {5}7$/m);
    expect(printed).toMatch(/^ {2}patch_top1_prob {5}(\d\.\d{3} ){2}\d\.\d{3}$/m);
    expect(printed).toMatch(/^ {2}patch_gold_top3 {5}(\d\.\d{3} ){2}\d\.\d{3}$/m);
  });
});
