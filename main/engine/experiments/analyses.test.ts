/**
 * Attention evolution and contrastive attention on a tiny checkpoint, checked against quantities
 * computed independently from the engine's raw read-outs and the metric definitions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import { forward, prepareSample, type PreparedSample } from '../inference/forward.ts';
import { generate } from '../inference/generate.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { cropRgb } from '../analysis/crops.ts';
import { contrastSettings } from '../analyses/contrast.ts';
import { contrastSample } from './contrast.ts';

/** The tiny model's depth (layers 0..3). */
const LAYERS = 4;
import { evolveSample } from './evolution.ts';

let dir: string;
let model: LoadedModel;
let sample: PreparedSample;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusionscope-analyses-'));
  await writeTinyLlava(dir, { seed: 41, dtype: 'F32', layout: 'legacy', text: { layers: 4 } });
  model = await openModel(dir, { provider: 'cpu' });
  // A 56×28 image: the CLIP processor resizes to 56×28 → centre crop 28×28 from x = 14.
  const data = new Uint8Array(56 * 28 * 3).map((_, i) => (i * 71) % 256);
  sample = await prepareSample(model, {
    image: { width: 56, height: 28, data },
    prompt: { kind: 'question', text: 'what color is the circle' },
  });
});

afterAll(async () => {
  await model?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('evolveSample', () => {
  it('maps are the renormalised head means of the last row, and box mass follows the token rectangles', async () => {
    const raw = await forward(model, sample);
    const box: [number, number, number, number] = [14, 0, 28, 14]; // the top-left quarter of the crop
    const evo = await evolveSample(model, sample, [box]);
    const layers = model.spec.decoder.layers;
    expect(evo.maps).toHaveLength(layers);
    for (let l = 0; l < layers; l++) {
      const total = raw.imageAttention[l].reduce((a, b) => a + b, 0);
      evo.maps[l].forEach((p, j) => expect(p).toBeCloseTo(raw.imageAttention[l][j] / total, 6));
      // 4×4 grid of 7-px patches over crop x ∈ [14, 42): the box covers tokens (0,0),(0,1),(1,0),(1,1).
      const expected = [0, 1, 4, 5].reduce((s, j) => s + evo.maps[l][j], 0);
      expect(evo.massInBox?.[l]).toBeCloseTo(expected, 9);
    }
    expect(evo.hellingerToFinal[layers - 1]).toBe(0);
    expect(evo.entropy.every((e) => e > 0 && e <= 1)).toBe(true);
    expect(evo.tokenRects[0]).toEqual({ x: 14, y: 0, width: 7, height: 7 });
    // Noise tokens are outside the box by construction.
    for (const t of evo.noise) expect([0, 1, 4, 5]).not.toContain(t.token);
  });
});

describe('contrastSample', () => {
  it('suppresses the lowest-CA fifth of the tokens at the review layer, and the baseline is the plain answer', async () => {
    const result = await contrastSample(
      model,
      sample,
      contrastSettings({ candidateLayers: [0, 1], reviewLayer: 2, maxNewTokens: 3 }, LAYERS),
    );
    expect([0, 1]).toContain(result.preLayer);
    expect(result.maskedTokens).toHaveLength(Math.floor(0.2 * 16));
    const sorted = [...result.ca].sort((a, b) => a - b);
    for (const t of result.maskedTokens)
      expect(result.ca[t]).toBeLessThanOrEqual(sorted[result.maskedTokens.length - 1]);
    const plain = await generate(model, sample, { maxNewTokens: 3 });
    expect(result.baseline.tokenIds).toEqual(plain.tokenIds);
    const refined = await generate(model, sample, {
      maxNewTokens: 3,
      interventions: [{ mode: 'hidden', layers: [2], tokens: result.maskedTokens, scale: 0.1 }],
    });
    expect(result.refined.mask?.tokenIds).toEqual(refined.tokenIds);
  });

  it('crop and ViCrop answer from the original plus a crop of the chosen region', async () => {
    const result = await contrastSample(
      model,
      sample,
      contrastSettings(
        { candidateLayers: [0, 1], reviewLayer: 2, maxNewTokens: 3, methods: ['crop', 'vicrop'] },
        LAYERS,
      ),
    );
    expect(result.refined.mask).toBeUndefined();
    for (const method of ['crop', 'vicrop'] as const) {
      const region = result.crops[method];
      expect(region).toBeDefined();
      // Inside the centre-cropped part of the 56×28 image the model saw (x ∈ [14, 42)), whole pixels.
      expect(region!.x).toBeGreaterThanOrEqual(14);
      expect(region!.x + region!.width).toBeLessThanOrEqual(42);
      expect(Number.isInteger(region!.width) && region!.width >= 7).toBe(true);
      const twoImages = await prepareSample(model, {
        image: sample.source,
        extraImages: [cropRgb(sample.source, region!)],
        prompt: sample.prompt,
      });
      const expected = await generate(model, twoImages, { maxNewTokens: 3 });
      expect(result.refined[method]?.tokenIds).toEqual(expected.tokenIds);
    }
  });

  it('rejects candidate or review layers outside the model', async () => {
    await expect(
      contrastSample(model, sample, contrastSettings({ candidateLayers: [7], reviewLayer: 2 }, LAYERS)),
    ).rejects.toThrow(/candidate layers .*0\.\.3/);
    await expect(
      contrastSample(model, sample, contrastSettings({ candidateLayers: [1], reviewLayer: 4 }, LAYERS)),
    ).rejects.toThrow(/review layer must be within 0\.\.3, got 4/);
  });
});
