/**
 * Every consumer of image-token facts reads the prepared sample's own layout, never a model-wide
 * count or grid: prompt expansion with per-image counts that differ from the checkpoint's, and
 * evolution / contrastive crops on a LLaVA-NeXT-shaped layout (base 2×2, tiles 4×2, a newline after
 * each row) fed through a real tiny LLaVA-1.5 checkpoint whose own layout is a 4×4 grid. A consumer
 * that still assumed the spec's grid would draw, measure or crop on the wrong pixels here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import { nextImageTokenMap, nextTokenLayout } from '../analysis/nextTokenMap.ts';
import { asLlavaNextConfig, parsePreprocessorConfig } from '../image/index.ts';
import { embedSample, forward, prepareSample, type PreparedSample } from '../inference/forward.ts';
import { expandImageTokens, tokenizePrompt } from '../inference/prompt.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { contrastSettings } from '../analyses/contrast.ts';
import { contrastSample } from './contrast.ts';
import { evolveSample } from './evolution.ts';
import { selectCrop } from './metrics/index.ts';

let dir: string;
let model: LoadedModel;
let tall: PreparedSample;

// A 28-wide, 56-high image.
const tallImage = { width: 28, height: 56, data: new Uint8Array(28 * 56 * 3).map((_, i) => (i * 53) % 256) };

/** LLaVA-NeXT's map for the tall image: crop 28, pinpoint 56×28, patch 14 → 4 base + 4 × (2 + newline) = 16. */
function nextLayout() {
  const processor = asLlavaNextConfig(
    parsePreprocessorConfig(
      {
        image_processor_type: 'LlavaNextImageProcessor',
        crop_size: 28,
        size: { shortest_edge: 28 },
        image_grid_pinpoints: [[56, 28]],
      },
      'preprocessor_config.json',
    ),
  );
  const options = {
    patchSize: 14,
    featureSelectStrategy: 'default',
    clsTokens: 1,
    imageNewline: true,
  } as const;
  return nextTokenLayout(nextImageTokenMap(processor, options, 56, 28));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusionscope-layout-'));
  await writeTinyLlava(dir, { seed: 43, dtype: 'F32', layout: 'legacy', text: { layers: 4 } });
  model = await openModel(dir, { provider: 'cpu' });
  tall = await prepareSample(model, { image: tallImage, prompt: { kind: 'question', text: 'what color' } });
});

afterAll(async () => {
  await model?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('prompt expansion follows each image’s layout', () => {
  it('expands each placeholder to its own count, shifting later spans by the earlier growth', () => {
    const { imageTokenId } = model.spec;
    const counts = [24, 5]; // neither is the checkpoint's 16
    const t = tokenizePrompt(model, { kind: 'question', text: 'what color' }, counts);
    const at = t.inputIds.flatMap((id, i) => (id === imageTokenId ? [i] : []));
    expect(t.imageTokenSpans).toEqual([
      [at[0], at[0] + 24],
      [at[1] + 23, at[1] + 23 + 5],
    ]);
    expect(t.imageTokenSpan).toEqual(t.imageTokenSpans[0]);
    expect(t.expandedIds.filter((id) => id === imageTokenId)).toHaveLength(29);
    expect(t.expandedIds.filter((id) => id !== imageTokenId)).toEqual(
      t.inputIds.filter((id) => id !== imageTokenId),
    );
    expect(() => expandImageTokens(imageTokenId, t, [24])).toThrow(
      /2 image placeholder\(s\) but 1 token count/,
    );
    expect(() => expandImageTokens(imageTokenId, t, [24, 0])).toThrow(
      /image 1 needs a positive whole number/,
    );
  });

  it('prepareSample takes each image’s count and layout from its processor output (CLS kept: 17)', async () => {
    const fullDir = await mkdtemp(join(tmpdir(), 'fusionscope-layout-full-'));
    await writeTinyLlava(fullDir, {
      seed: 44,
      dtype: 'F32',
      layout: 'legacy',
      visionFeatureSelectStrategy: 'full',
    });
    const full = await openModel(fullDir, { provider: 'cpu' });
    try {
      const two = await prepareSample(full, {
        image: tallImage,
        extraImages: [{ width: 4, height: 4, data: new Uint8Array(48) }],
        prompt: { kind: 'question', text: 'what color' },
      });
      expect(two.imageLayouts.map((l) => l.count)).toEqual([17, 17]);
      expect(two.imageTokenSpans.map(([s, e]) => e - s)).toEqual([17, 17]);
      expect(two.imageLayout.rects[0]).toBeNull(); // CLS
      expect(two.imageLayout.grids[0].cells[0]).toBe(1);
      const D = full.spec.decoder.hiddenSize;
      expect((await embedSample(full, two)).length).toBe(two.expandedIds.length * D);
    } finally {
      await full.close();
      await rm(fullDir, { recursive: true, force: true });
    }
  });

  it('prepareSample sizes the span from the layout, and the vision tower must then agree with it', async () => {
    expect(tall.imageLayout.count).toBe(16);
    expect(tall.imageTokenSpan[1] - tall.imageTokenSpan[0]).toBe(16);
    const encoded = { text: tall.text, inputIds: tall.inputIds };
    const wider = { ...tall, ...expandImageTokens(model.spec.imageTokenId, encoded, [24]) };
    expect(wider.expandedIds.length).toBe(tall.expandedIds.length + 8);
    // The span is the layout's, not the checkpoint's: the 16 features no longer fit and that is said.
    await expect(embedSample(model, wider)).rejects.toThrow(/produced 16 image tokens, expected 24/);
  });
});

describe('analyses read the sample’s layout', () => {
  const layout = nextLayout();
  const sample = (): PreparedSample => ({ ...tall, imageLayout: layout, imageLayouts: [layout] });
  // Token order: base 0-3, then rows of [tile, tile, newline]: tiles at 4,5 / 7,8 / 10,11 / 13,14.
  const TILE_TOKENS = [4, 5, 7, 8, 10, 11, 13, 14];

  it('the NeXT map fits the layout type: 16 tokens, newlines without rectangles, tiles on a 4×2 grid', () => {
    expect(layout.count).toBe(16);
    expect([3, 6, 9, 12, 15].map((t) => layout.rects[t] === null)).toEqual([false, true, true, true, true]);
    expect(layout.rects[2]).toEqual({ x: 0, y: 28, width: 14, height: 28 }); // base: the image squashed
    expect(layout.grids.map((g) => [g.label, g.rows, g.cols])).toEqual([
      ['tiles', 4, 2],
      ['base', 2, 2],
    ]);
    expect(layout.grids[0].cells).toEqual(TILE_TOKENS);
    expect(layout.grids[1].cells).toEqual([0, 1, 2, 3]);
    // Tile tokens are 14-px squares over the whole tall image, row by row.
    TILE_TOKENS.forEach((t, i) =>
      expect(layout.rects[t]).toEqual({ x: (i % 2) * 14, y: Math.floor(i / 2) * 14, width: 14, height: 14 }),
    );
  });

  it('evolution measures box mass on the layout’s rectangles', async () => {
    const box: [number, number, number, number] = [0, 42, 28, 56]; // the bottom tile row only
    const evo = await evolveSample(model, sample(), [box]);
    expect(evo.tokenRects).toEqual(layout.rects);
    const raw = await forward(model, sample());
    for (let l = 0; l < model.spec.decoder.layers; l++) {
      const total = raw.imageAttention[l].reduce((a, b) => a + b, 0);
      // Tiles 13 and 14 lie in the box; base cells 2 and 3 (the base is the image squashed to 28×28,
      // so each covers 14×28 px) half. The checkpoint's own 4×4 grid over the centre crop
      // (y ∈ [14, 42)) would put nothing there.
      const a = raw.imageAttention[l];
      const inBox = (a[13] + a[14] + 0.5 * (a[2] + a[3])) / total;
      expect(evo.massInBox?.[l]).toBeCloseTo(inBox, 6);
    }
  });

  it('the contrastive crop is chosen on the primary (tile) grid and cut from its pixels', async () => {
    const result = await contrastSample(
      model,
      sample(),
      contrastSettings(
        { candidateLayers: [0, 1], reviewLayer: 2, maxNewTokens: 1, methods: ['crop'] },
        model.spec.decoder.layers,
      ),
    );
    expect(result.ca).toHaveLength(16);
    const { rect } = selectCrop(
      TILE_TOKENS.map((t) => result.ca[t]),
      4,
      2,
    );
    expect(result.crops.crop).toEqual({
      x: rect.col0 * 14,
      y: rect.row0 * 14,
      width: (rect.col1 - rect.col0) * 14,
      height: (rect.row1 - rect.row0) * 14,
    });
  });
});
