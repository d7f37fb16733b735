/**
 * The Image lens panel's read through the API, on a real backend (engine worker, SQLite workspace) and
 * the demo model (8 layers, an 8 × 8 grid of 8 px patches on its 64 px images): one recorded layer of
 * a sample, each image token placed on the image with its top-1 token, checked against the same
 * sample's stored arrays, token rectangles and metrics as sampleDetail returns them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ImageLensItemResult } from '../common/analysis.ts';
import { session, type Session } from './testing.ts';

let root: string;
let app: Session;
let runId: number;
let modelId: string;
let datasetId: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-backend-image-lens-'));
  app = await session(join(root, 'workspace'));
  [{ id: modelId }] = await app.ok('listModels', {});
  datasetId = (await app.ok('appInfo', {})).demoDatasetPath;
  const job = await app.ok('startRun', {
    kind: 'image-lens',
    modelId,
    datasetId,
    limit: 2,
    config: { layers: [1, 5, 7] },
  });
  const done = await app.finished(job.jobId);
  expect(done).toMatchObject({ outcome: 'done', error: null });
  runId = done.runId!;
});

afterAll(async () => {
  await app?.backend.close();
  await rm(root, { recursive: true, force: true });
});

describe('imageLensLayer', () => {
  it('places every image token on the image with its top-1 token and probability at the layer', async () => {
    const { samples } = await app.ok('runSamples', { runId });
    const itemId = samples[0].itemId;
    const detail = await app.ok('sampleDetail', { runId, itemId });
    const result = detail.result as ImageLensItemResult;
    const view = await app.ok('imageLensLayer', { runId, itemId, layer: 5 });
    expect(view).toMatchObject({
      runId,
      layer: 5,
      layers: [1, 5, 7],
      tokens: 64,
      onImage: true,
      image: { width: 64, height: 64 },
      goldToken: result.goldToken,
      goldText: result.goldText,
    });
    expect(view.item.id).toBe(itemId);
    // Row 1 of the stored [layer][token] arrays is layer 5.
    const tokens = (detail.arrays.top1_token as number[][])[1];
    const probs = (detail.arrays.top1_prob as number[][])[1];
    expect(view.cells).toHaveLength(64);
    view.cells.forEach((cell, i) => {
      expect(cell.index).toBe(i);
      expect(cell.rect).toEqual(detail.tokenRects[i]);
      expect(cell.token).toBe(tokens[i]);
      expect(cell.prob).toBe(probs[i]);
      expect(cell.text).toBe(result.texts[String(tokens[i])]);
    });
    expect(view.cells[9].rect).toEqual({ x: 8, y: 8, width: 8, height: 8 });
    const atLayer = detail.metrics.filter((m) => m.layer === 5);
    expect(Object.keys(view.metrics).sort()).toEqual(atLayer.map((m) => m.name).sort());
    for (const m of atLayer) expect(view.metrics[m.name]).toBe(m.value);
    const mean = view.cells.reduce((sum, c) => sum + c.prob, 0) / 64;
    expect(view.metrics.patch_top1_prob).toBeCloseTo(mean, 6);
  });

  it('refuses layers the run did not record, runs of another kind and malformed parameters', async () => {
    const { samples } = await app.ok('runSamples', { runId });
    const itemId = samples[0].itemId;
    expect(await app.fails('imageLensLayer', { runId, itemId, layer: 2 })).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/recorded layers 1, 5, 7 .*not layer 2/),
    });
    expect(await app.fails('imageLensLayer', { runId, itemId: 'nope', layer: 1 })).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('"nope"'),
    });
    expect((await app.fails('imageLensLayer', { runId: 999_999, itemId, layer: 1 })).code).toBe('NOT_FOUND');
    for (const params of [
      { runId, itemId, layer: -1 },
      { runId, itemId, layer: 1.5 },
      { runId, itemId, layer: 1024 },
      { runId, itemId },
      { runId, itemId, layer: 1, extra: true },
    ]) {
      expect((await app.fails('imageLensLayer', params)).code, JSON.stringify(params)).toBe('BAD_REQUEST');
    }
    const job = await app.ok('startRun', { kind: 'attention-share', modelId, datasetId, limit: 1 });
    const other = (await app.finished(job.jobId)).runId!;
    expect(await app.fails('imageLensLayer', { runId: other, itemId, layer: 1 })).toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringContaining('not an image-lens run'),
    });
  });
});
