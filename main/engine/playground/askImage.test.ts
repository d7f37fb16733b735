/**
 * The Playground's answer on a tiny random checkpoint: each generated token's maps against the float64
 * reference (native-models/reference) — the head mean of the choosing row's attention over the image
 * tokens, renormalised, computed here from the reference's probabilities — within 1e-4 relative (the
 * fidelity tests' bar); the token texts, the masked answer, the preview, and bytes that are no image.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ReferenceLlava } from '../../../native-models/reference/llava.ts';
import { maxRelativeError } from '../../../native-models/testing/compare.ts';
import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import { prepareSample } from '../inference/forward.ts';
import { tokenPieces } from '../inference/generate.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { encodeRgbPng } from '../report/png.ts';
import { askImage } from './askImage.ts';

const TOLERANCE = 1e-4;
const QUESTION = 'what is right of the circle';

let dir: string;
let model: LoadedModel;
let reference: ReferenceLlava;
let png: Uint8Array;

/** A 1200 × 900 gradient with a block, so the preview must be scaled down. */
function sceneImage(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const block = x > width / 2 && y < height / 3;
      data[i] = block ? 230 : (x * 255) / width;
      data[i + 1] = block ? 20 : (y * 255) / height;
      data[i + 2] = 90;
    }
  }
  return encodeRgbPng({ width, height, data });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusionscope-ask-image-'));
  await writeTinyLlava(dir, { seed: 41, dtype: 'F32', layout: 'modern', text: { layers: 3 } });
  model = await openModel(dir, { provider: 'cpu' });
  reference = await ReferenceLlava.load(dir);
  png = sceneImage(1200, 900);
});

afterAll(async () => {
  await model?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('askImage', () => {
  it('gives each generated token the reference’s renormalised head-mean map at every layer', async () => {
    const result = await askImage(model, {
      image: png,
      name: 'scene.png',
      question: QUESTION,
      maxNewTokens: 4,
    });
    const { tokens, maps } = result.answer;
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    expect(maps).toHaveLength(tokens.length);

    const sample = await prepareSample(model, { image: png, prompt: { kind: 'question', text: QUESTION } });
    const [start, end] = sample.imageTokenSpan;
    const length = sample.expandedIds.length;
    const rows = tokens.map((_t, i) => length - 1 + i);
    const ref = reference.forward({
      inputIds: [...sample.expandedIds, ...tokens.slice(0, -1).map((t) => t.id)],
      pixelValues: sample.image.pixelValues,
      imageSize: [sample.image.height, sample.image.width],
      readoutRows: rows,
    });
    const { heads, layers } = model.spec.decoder;
    expect(result.layers).toBe(layers);
    for (let l = 0; l < layers; l++) {
      rows.forEach((_r, i) => {
        const mean = new Float64Array(end - start);
        for (let h = 0; h < heads; h++) {
          const row = ref.attention[l][h][i];
          for (let t = start; t < end; t++) mean[t - start] += row[t] / heads;
        }
        const total = mean.reduce((a, b) => a + b, 0);
        const expected = mean.map((v) => v / total);
        expect(maxRelativeError(maps[i][l], expected), `token ${i}, layer ${l}`).toBeLessThan(TOLERANCE);
      });
    }
    expect(result.tokenRects).toHaveLength(end - start);
  });

  it('spells the answer with its tokens, and describes the image it read', async () => {
    const result = await askImage(model, {
      image: png,
      name: 'scene.png',
      question: QUESTION,
      maxNewTokens: 5,
    });
    expect(
      result.answer.tokens
        .map((t) => t.text)
        .join('')
        .trim(),
    ).toBe(result.answer.text);
    expect(result.answer.tokens.every((t) => t.raw.length > 0)).toBe(true);
    expect(result.prompt).toContain(QUESTION);
    expect(result.image).toMatchObject({ width: 1200, height: 900, format: 'PNG' });
    expect(result.mask).toBeNull();
    expect(result.masked).toBeNull();
    const preview = PNG.sync.read(
      Buffer.from(result.image.preview.replace(/^data:image\/png;base64,/, ''), 'base64'),
    );
    expect([preview.width, preview.height]).toEqual([1024, 768]);
  });

  it('answers again with the image knocked out, and the masked layers see no image', async () => {
    const mask = { mode: 'knockout' as const, layers: [0, 1, 2] };
    const result = await askImage(model, {
      image: png,
      name: 'scene.png',
      question: QUESTION,
      maxNewTokens: 4,
      mask,
    });
    expect(result.mask).toEqual(mask);
    const masked = result.masked!;
    expect(masked.tokens.length).toBeGreaterThan(0);
    // Knockout gives the image keys zero weight: nothing to renormalise, so the maps stay zero.
    for (const perLayer of masked.maps) for (const map of perLayer) expect(Math.max(...map)).toBe(0);
    for (const map of result.answer.maps[0]) expect(map.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });

  it('splits text into token pieces that add up, a character over byte tokens landing whole', () => {
    // "é" and "ß" are not in the tiny vocabulary: each falls back to two byte tokens.
    const ids = model.tokenizer.encode('red é ßq');
    const pieces = tokenPieces(model, ids);
    expect(pieces).toHaveLength(ids.length);
    expect(pieces.join('')).toBe(model.tokenizer.decode(ids, { skipSpecialTokens: true }));
    expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
    expect(pieces.filter((p) => p === 'é' || p === ' é' || p.endsWith('é'))).toHaveLength(1);
    expect(pieces).toContain('');
  });

  it('refuses bytes that are no image, naming the file', async () => {
    const text = new TextEncoder().encode('just some notes, not a picture');
    await expect(
      askImage(model, { image: text, name: 'notes.txt', question: QUESTION, maxNewTokens: 2 }),
    ).rejects.toMatchObject({ code: 'BAD_IMAGE', message: expect.stringContaining('notes.txt') });
  });

  it('refuses a mask layer the decoder does not have', async () => {
    await expect(
      askImage(model, {
        image: png,
        name: 'scene.png',
        question: QUESTION,
        maxNewTokens: 2,
        mask: { mode: 'hidden', layers: [7] },
      }),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/layer 7.*0\.\.2/) });
  });
});
