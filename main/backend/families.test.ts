/**
 * The model families of issue 6 through the app's backend, as the renderer drives it: open a tiny
 * LLaVA-NeXT and a tiny VIP-LLaVA checkpoint, run the masking sweep, attention evolution (per head)
 * and contrastive attention (layers read off the sweep) on the demo dataset, and read each sample back
 * the way the views draw it. Real engine worker thread, real SQLite workspace.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ApiParamsIn, ModelView, SampleDetail } from '../common/api/index.ts';
import { DEMO_DATASET_DIR } from '../engine/demo.ts';
import { writeTinyLlava, type TinyLlavaOptions } from '../../native-models/testing/tinyLlava.ts';
import { session, type Session } from './testing.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const LAYERS = 4;
const HEADS = 4;

interface Family {
  readonly name: string;
  readonly options: TinyLlavaOptions;
  readonly view: Partial<ModelView>;
  /** On a 64 × 64 demo image. */
  readonly tokens: number;
  /** Tokens with no rectangle (LLaVA-NeXT's image_newline after each tile-grid row). */
  readonly unplaced: readonly number[];
  readonly grid: SampleDetail['grid'];
}

const FAMILIES: readonly Family[] = [
  {
    name: 'llava_next',
    options: { seed: 62, dtype: 'F16', layout: 'modern', llavaNext: {}, text: { layers: LAYERS } },
    // Count varies per image; imageGrid is the base image's grid.
    view: {
      modelType: 'llava_next',
      imageTokensPerImage: null,
      imageGrid: { rows: 4, cols: 4, leadingTokens: 0 },
    },
    // 4 × 4 base features, then 2 × 2 tiles (pinpoint 56 × 56) → 8 rows of 8 tile tokens + a newline.
    tokens: 16 + 8 * 9,
    unplaced: Array.from({ length: 8 }, (_, row) => 16 + row * 9 + 8),
    grid: { rows: 8, cols: 8 },
  },
  {
    name: 'vipllava',
    options: { seed: 61, dtype: 'F16', layout: 'modern', vipllava: true, text: { layers: LAYERS } },
    view: {
      modelType: 'vipllava',
      imageTokensPerImage: 16,
      imageGrid: { rows: 4, cols: 4, leadingTokens: 0 },
    },
    tokens: 16,
    unplaced: [],
    grid: { rows: 4, cols: 4 },
  },
];

let root: string;
let app: Session;
let datasetId: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-backend-families-'));
  await Promise.all(FAMILIES.map((f) => writeTinyLlava(join(root, f.name), f.options)));
  app = await session(join(root, 'workspace'), { preloadDemo: false });
  datasetId = (await app.ok('importDataset', { path: DEMO_DATASET_DIR })).id;
});

afterAll(async () => {
  await app?.backend.close();
  await rm(root, { recursive: true, force: true });
});

describe.each(FAMILIES)('$name in the app', (family) => {
  let modelId: string;

  /** Runs `request` on two demo items and returns its run id and the detail of its first sample. */
  async function run(
    request: DistributiveOmit<ApiParamsIn<'startRun'>, 'modelId' | 'datasetId' | 'limit'>,
  ): Promise<{ runId: number; detail: SampleDetail }> {
    const job = await app.ok('startRun', { ...request, modelId, datasetId, limit: 2 });
    const done = await app.finished(job.jobId);
    expect(done).toMatchObject({ outcome: 'done', done: 2, total: 2, error: null });
    const runId = done.runId!;
    const { samples } = await app.ok('runSamples', { runId });
    expect(samples.map((s) => s.status)).toEqual(['ok', 'ok']);
    const detail = await app.ok('sampleDetail', { runId, itemId: samples[0].itemId });
    expect(detail.kind).toBe(request.kind);
    checkLayout(detail);
    return { runId, detail };
  }

  /** Rectangles and grid as the overlays draw them: one per image token, newlines unplaced. */
  function checkLayout(detail: SampleDetail): void {
    expect(detail.image).toEqual({ width: 64, height: 64 });
    expect(detail.tokenRects).toHaveLength(family.tokens);
    const unplaced = detail.tokenRects.flatMap((rect, i) => (rect === null ? [i] : []));
    expect(unplaced).toEqual(family.unplaced);
    for (const rect of detail.tokenRects) {
      if (!rect) continue;
      expect(rect.x).toBeGreaterThanOrEqual(0);
      expect(rect.y).toBeGreaterThanOrEqual(0);
      expect(rect.x + rect.width).toBeLessThanOrEqual(64 + 1e-9);
      expect(rect.y + rect.height).toBeLessThanOrEqual(64 + 1e-9);
    }
    expect(detail.grid).toEqual(family.grid);
  }

  it('opens with its model view', async () => {
    const view = await app.ok('openModel', { folder: join(root, family.name) });
    expect(view).toMatchObject({ ...family.view, layers: LAYERS, heads: HEADS, weightsDtype: 'F16' });
    expect(view.summary.decoderLayers).toBe(LAYERS);
    modelId = view.id;
    expect((await app.ok('listModels', {})).map((m) => m.id)).toContain(modelId);
  });

  it('sweeps every layer; the summary has a label per layer', async () => {
    const { runId, detail } = await run({ kind: 'sweep', config: { mode: 'knockout', maxNewTokens: 2 } });
    const summary = await app.ok('runSummary', { runId });
    if (summary.kind !== 'sweep') throw new Error(`expected a sweep summary, got ${summary.kind}`);
    expect(summary.summary).toMatchObject({ runId, sampleCount: 2, layerCount: LAYERS });
    expect(summary.summary.labels.layers).toHaveLength(LAYERS);
    const baseline = detail.arrays.baseline_attention as number[][];
    expect(baseline).toHaveLength(LAYERS);
    for (const map of baseline) expect(map).toHaveLength(family.tokens);
  });

  it('evolves attention per head over every image token of the sample', async () => {
    const { runId, detail } = await run({ kind: 'evolve', config: { perHead: true } });
    const maps = detail.arrays.maps as number[][];
    expect(maps).toHaveLength(LAYERS);
    for (const map of maps) {
      expect(map).toHaveLength(family.tokens);
      expect(map.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4); // renormalised over image tokens
    }
    const perHead = detail.arrays.per_head as number[][][];
    expect([perHead.length, perHead[0].length, perHead[0][0].length]).toEqual([LAYERS, HEADS, family.tokens]);
    const summary = await app.ok('runSummary', { runId });
    if (summary.kind !== 'evolve') throw new Error(`expected an evolve summary, got ${summary.kind}`);
    expect(summary.summary.curves.hellinger_to_final.at(-1)?.mean).toBe(0);
  });

  it('contrasts with the layers read off the sweep', async () => {
    const { runId, detail } = await run({ kind: 'contrast', config: { methods: ['mask'], maxNewTokens: 2 } });
    const [listed] = await app.ok('listRuns', { kind: 'contrast', modelId });
    expect(listed.id).toBe(runId);
    const config = listed.config as { candidateLayers: number[]; reviewLayer: number | null };
    expect(config.candidateLayers.length).toBeGreaterThan(0);
    expect(config.candidateLayers.every((l) => l >= 0 && l < LAYERS)).toBe(true);
    // A two-sample sweep labels no review layer: mask does not apply (never run at another layer).
    expect(config.reviewLayer).toBeNull();
    const [ca, pre, final] = ['ca', 'pre', 'final'].map((name) => detail.arrays[name] as number[]);
    expect([ca.length, pre.length, final.length]).toEqual([family.tokens, family.tokens, family.tokens]);
    ca.forEach((v, i) => expect(v).toBeCloseTo(final[i] - pre[i], 6));
    const summary = await app.ok('runSummary', { runId });
    if (summary.kind !== 'contrast') throw new Error(`expected a contrast summary, got ${summary.kind}`);
    expect(summary.summary.sampleCount).toBe(2);
    expect(summary.summary.notApplicable).toEqual([
      { method: 'mask', reason: 'the sweep found no review layer to mask at' },
    ]);
    expect(summary.summary.methods.map((m) => m.method)).toEqual(['none']);
  });
});
