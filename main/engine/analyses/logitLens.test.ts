/**
 * The logit lens against an independent float64 read-out: the reference implementation's residual
 * stream after each layer (native-models/reference), through the final RMSNorm and LM head computed
 * here in float64. Tolerance: 1e-4 relative to the largest value compared (float32 graphs vs float64
 * loops leave ~1e-6 on these O(1) activations; the fidelity tests' bar). Ranks and top tokens must
 * match exactly. Then a run end to end (summary, report) and the CLI on the demo model.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { linear, rmsNorm, softmax } from '../../../native-models/reference/math.ts';
import { ReferenceLlava } from '../../../native-models/reference/llava.ts';
import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import type { LogitLensItemResult } from '../../common/analysis.ts';
import { runCli } from '../cli.testing.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { runExperiment } from '../experiments/experiment.ts';
import { forward } from '../inference/forward.ts';
import { type LoadedModel } from '../model/openModel.ts';
import { writeReport } from '../report/writeReport.ts';
import { Workspace } from '../store/workspace.ts';
import { openTinyModelFixture, type TinyModelFixture } from './tinyModel.testing.ts';
import { lensRow, logitLensAnalysis, summarizeLogitLens } from './logitLens.ts';
import { goldToken, prepareItem } from './samples.ts';

const TOLERANCE = 1e-4;
const LAYERS = 4;
const ITEMS = 3;

let root: string;
let model: LoadedModel;
let reference: ReferenceLlava;
let items: DatasetItem[];
let dataset: string;

let fixture: TinyModelFixture | undefined;
beforeAll(async () => {
  fixture = await openTinyModelFixture(
    'logit-lens',
    {
      seed: 61,
      dtype: 'F32',
      layout: 'modern',
      text: { layers: LAYERS },
    },
    { count: ITEMS, seed: 9 },
  );
  ({ root, model, reference, dataset, items } = fixture);
});

afterAll(() => fixture?.close());

/** Per layer, the float64 lens at the last position: probabilities over the vocabulary, and logits. */
async function referenceLens(item: DatasetItem): Promise<{ probs: Float64Array[]; logits: Float64Array[] }> {
  const sample = await prepareItem(model, item, {});
  const out = reference.forward({
    inputIds: [...sample.expandedIds],
    pixelValues: sample.image.pixelValues,
    imageSize: [sample.image.height, sample.image.width],
  });
  const last = sample.expandedIds.length - 1;
  const { norm, lmHead } = reference.weights.decoder;
  const logits = out.hiddenStates.map((layer) =>
    linear(rmsNorm(layer[last], norm, reference.config.text.rmsNormEps), lmHead),
  );
  return { logits, probs: logits.map((l) => softmax(l)) };
}

const signal = () => new AbortController().signal;

describe('lensRow', () => {
  it('ranks the gold token among strictly larger logits and keeps the top k, ties by lower index', () => {
    const row = lensRow([1, 3, 3, 0, 2], 3, 4);
    expect(row.top.map((t) => t.token)).toEqual([1, 2, 4]);
    expect(row.goldRank).toBe(3);
    const z = Math.exp(1) + 2 * Math.exp(3) + 1 + Math.exp(2);
    expect(row.goldProb).toBeCloseTo(Math.exp(2) / z, 12);
    expect(row.top1Prob).toBeCloseTo(Math.exp(3) / z, 12);
    expect(lensRow([1, 3, 3], 1, 2).goldRank).toBe(1); // a tie with the best ranks the gold token first
    expect(lensRow([5, 1], 2)).not.toHaveProperty('goldRank');
  });
});

describe('logit lens vs the float64 reference', () => {
  it('gives every layer’s gold probability, rank, top-1 probability and top tokens', async () => {
    const config = logitLensAnalysis.parseConfig({ topK: 4 });
    let compared = 0;
    for (const item of items) {
      const gold = goldToken(model, item);
      expect(gold, item.id).toBeDefined();
      const out = await logitLensAnalysis.perSample(model, item, config, signal());
      const result = out.result as LogitLensItemResult;
      const metric = (name: string) =>
        (out.metrics ?? []).filter((m) => m.name === name).map((m) => [m.layer, m.value]);
      const ref = await referenceLens(item);
      expect(ref.probs).toHaveLength(LAYERS);

      const layers = ref.probs.map((_, l) => l);
      const goldProb = ref.probs.map((p) => p[gold!]);
      const rank = ref.logits.map((l) => 1 + l.filter((v) => v > l[gold!]).length);
      const top1 = ref.probs.map((p) => Math.max(...p));
      expect(metric('gold_prob').map(([l]) => l)).toEqual(layers);
      expect(
        maxRelativeError(
          metric('gold_prob').map(([, v]) => v),
          goldProb,
        ),
      ).toBeLessThan(TOLERANCE);
      expect(
        maxRelativeError(
          metric('top1_prob').map(([, v]) => v),
          top1,
        ),
      ).toBeLessThan(TOLERANCE);
      expect(metric('gold_rank').map(([, v]) => v)).toEqual(rank);

      result.topTokens.forEach((top, l) => {
        const order = [...ref.probs[l].keys()].sort((a, b) => ref.probs[l][b] - ref.probs[l][a] || a - b);
        expect(top.map((t) => t.token)).toEqual(order.slice(0, 4));
        expect(
          maxRelativeError(
            top.map((t) => t.prob),
            order.slice(0, 4).map((i) => ref.probs[l][i]),
          ),
        ).toBeLessThan(TOLERANCE);
        expect(top[0].text).toBe(model.tokenizer.decode([top[0].token]));
      });
      const first = rank.indexOf(1);
      expect(result.firstTop1Layer).toBe(first >= 0 ? first : null);
      expect(result.goldToken).toBe(gold);
      compared++;
    }
    expect(compared).toBe(ITEMS);
  });

  it('reads the last layer exactly as the model’s own logits', async () => {
    const config = logitLensAnalysis.parseConfig({});
    const item = items[0];
    const out = await logitLensAnalysis.perSample(model, item, config, signal());
    const pass = await forward(model, await prepareItem(model, item, {}));
    const own = lensRow(pass.lastLogits, 5, goldToken(model, item));
    const last = (name: string) => out.metrics!.find((m) => m.name === name && m.layer === LAYERS - 1)!.value;
    expect(last('gold_prob')).toBeCloseTo(own.goldProb!, 6);
    expect(last('gold_rank')).toBe(own.goldRank);
    expect((out.result as LogitLensItemResult).topTokens[LAYERS - 1].map((t) => t.token)).toEqual(
      own.top.map((t) => t.token),
    );
  });
});

describe('a logit-lens run', () => {
  it('summarises per-layer means with intervals and the first top-1 layer, and reports them', async () => {
    const workspace = Workspace.open(join(root, 'workspace'));
    try {
      const outcome = await runExperiment(
        { model, workspace, dataset },
        { kind: 'logit-lens', config: { topK: 3 } },
      );
      expect(outcome.status).toBe('done');
      const summary = summarizeLogitLens(workspace, outcome.runId);
      expect(summary).toMatchObject({ sampleCount: ITEMS, layerCount: LAYERS });
      const samples = workspace.readSamples<LogitLensItemResult>(outcome.runId);
      for (const name of ['gold_prob', 'top1_prob', 'gold_rank'] as const) {
        const curve = summary.curves[name]!;
        expect(curve.map((s) => s.layer)).toEqual([0, 1, 2, 3]);
        for (const s of curve) {
          const values = samples.map(
            (x) =>
              workspace
                .sampleMetrics(outcome.runId, x.itemId)
                .find((m) => m.name === name && m.layer === s.layer)!.value,
          );
          expect(s.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 12);
          expect(s.lower).toBeLessThanOrEqual(s.mean + 1e-12);
          expect(s.upper).toBeGreaterThanOrEqual(s.mean - 1e-12);
          expect(s.n).toBe(ITEMS);
        }
      }
      const firsts = samples.map((s) => s.result!.firstTop1Layer).filter((l): l is number => l !== null);
      expect(summary.firstTop1).toEqual({
        mean: firsts.length ? firsts.reduce((a, b) => a + b, 0) / firsts.length : null,
        reached: firsts.length,
        of: ITEMS,
      });
      expect(samples[0].result!.topTokens).toHaveLength(LAYERS);
      expect(samples[0].result!.topTokens[0]).toHaveLength(3);
      const lines = logitLensAnalysis.describe(summary, workspace.getRun(outcome.runId));
      expect(lines[0]).toBe(`logit-lens run ${outcome.runId}: ${ITEMS} samples, ${LAYERS} layers`);

      const out = join(root, 'report');
      const written = await writeReport(workspace, model, out);
      expect(written).toEqual(expect.arrayContaining(['logit-lens.svg', 'logit-lens.png', 'logit-lens.csv']));
      const csv = await readFile(join(out, 'logit-lens.csv'), 'utf8');
      expect(csv.split('\r\n')[0]).toBe(
        'layer,gold_prob,gold_prob_lower,gold_prob_upper,top1_prob,top1_prob_lower,top1_prob_upper,gold_rank,gold_rank_lower,gold_rank_upper',
      );
      expect(csv.trim().split('\r\n')).toHaveLength(1 + LAYERS);
      const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
      expect(report['logit-lens']).toMatchObject({ runId: outcome.runId, samples: ITEMS });
    } finally {
      workspace.close();
    }
  });
});

describe('fusionscope logit-lens', () => {
  it('runs on the demo model and prints its summary', async () => {
    const { code, stdout: printed } = await runCli([
      'logit-lens',
      '--limit',
      '3',
      '--top-k',
      '2',
      '--workspace',
      join(root, 'cli'),
    ]);
    expect(code).toBe(0);
    expect(printed).toMatch(/^logit-lens run \d+: 3 samples, 12 layers$/m);
    expect(printed).toMatch(/^ {2}gold_prob {2}(\d\.\d{3} ){11}\d\.\d{3}$/m);
    expect(printed).toMatch(
      /^ {2}gold first top-1 at layer \d\.\d\d on average \(\d of 3 samples; the rest never\)$|top-1 at no layer/m,
    );
  });
});
