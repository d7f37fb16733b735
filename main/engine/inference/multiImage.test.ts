/**
 * Several images in one prompt (original + crop, as ViCrop-style refinements feed them): each
 * placeholder expands to its own span, and each span receives its own image's features.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { VISION_IO } from '../../../native-models/architectures/contract.ts';
import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { embedSample, prepareSample } from './forward.ts';

let dir: string;
let model: LoadedModel;
const image = (seed: number) => ({
  width: 28,
  height: 28,
  data: new Uint8Array(28 * 28 * 3).map((_, i) => (i * seed) % 256),
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fusionscope-multi-'));
  await writeTinyLlava(dir, { seed: 61, dtype: 'F32', layout: 'legacy' });
  model = await openModel(dir, { provider: 'cpu' });
});

afterAll(async () => {
  await model?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('two images in one prompt', () => {
  it('expands each placeholder into its own span and splices each image’s features there', async () => {
    const sample = await prepareSample(model, {
      image: image(7),
      extraImages: [image(13)],
      prompt: { kind: 'question', text: 'what color' },
    });
    expect(sample.text).toBe('USER: <image>\n<image>\nwhat color ASSISTANT:');
    const n = sample.imageLayout.count;
    expect(sample.imageLayouts.map((l) => l.count)).toEqual([n, n]);
    const [first, second] = sample.imageTokenSpans;
    expect(sample.imageTokenSpan).toEqual(first);
    expect(first[1] - first[0]).toBe(n);
    expect(second[1] - second[0]).toBe(n);
    expect(second[0]).toBeGreaterThan(first[1]); // the newline between them stays a text token
    const imageId = model.spec.imageTokenId;
    expect(sample.expandedIds.filter((id) => id === imageId)).toHaveLength(2 * n);
    expect(sample.expandedIds.slice(first[1], second[0]).includes(imageId)).toBe(false);

    const embeds = await embedSample(model, sample);
    const D = model.spec.decoder.hiddenSize;
    for (const [k, processed] of [sample.image, ...sample.extraImages].entries()) {
      const out = await model.sessions.vision.run({
        [VISION_IO.pixels]: { data: processed.pixelValues, dims: [1, 3, 28, 28] },
      });
      const [start, end] = sample.imageTokenSpans[k];
      expect(Array.from(embeds.subarray(start * D, end * D))).toEqual(
        Array.from(out[VISION_IO.features].data),
      );
    }
  });

  it('a raw prompt must carry one placeholder per image', async () => {
    await expect(
      prepareSample(model, {
        image: image(7),
        extraImages: [image(9)],
        prompt: { kind: 'raw', text: 'USER: <image> x' },
      }),
    ).rejects.toThrow(/1 <image> placeholders but 2 image\(s\) were given/);
  });
});
