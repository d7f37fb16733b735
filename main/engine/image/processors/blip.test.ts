import { describe, expect, it } from 'vitest';

import { FusionError } from '../../../common/errors.ts';
import { parsePreprocessorConfig, preprocessImage } from '../preprocess.ts';
import type { RgbImage } from '../types.ts';
import { asBlipImageConfig } from './blip.ts';
import { OPENAI_CLIP_MEAN, OPENAI_CLIP_STD } from './clip.ts';

/** Shaped like Salesforce/instructblip-vicuna-7b's preprocessor_config.json (224 px, bicubic, CLIP mean/std). */
const INSTRUCTBLIP_VICUNA = {
  do_convert_rgb: true,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_processor_type: 'BlipImageProcessor',
  image_std: [0.26862954, 0.26130258, 0.27577711],
  processor_class: 'InstructBlipProcessor',
  resample: 3,
  rescale_factor: 0.00392156862745098,
  size: { height: 224, width: 224 },
};

const parse = (json: Record<string, unknown>) =>
  asBlipImageConfig(parsePreprocessorConfig(json, 'preprocessor_config.json'));

function parseError(json: Record<string, unknown>): FusionError {
  try {
    parse(json);
  } catch (error) {
    expect(error).toBeInstanceOf(FusionError);
    return error as FusionError;
  }
  throw new Error('expected a BAD_CONFIG error');
}

/** A width × height image whose pixel (x, y) is colour(x, y). */
function image(width: number, height: number, colour: (x: number, y: number) => number[]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(colour(x, y), (y * width + x) * 3);
  }
  return { width, height, data };
}

/** transformers' float32 arithmetic: rescale in float64 then cast, normalise in float32. */
function normalised(value: number, channel: number): number {
  const rescaled = Math.fround(value / 255);
  return Math.fround(
    Math.fround(rescaled - Math.fround(OPENAI_CLIP_MEAN[channel])) / Math.fround(OPENAI_CLIP_STD[channel]),
  );
}

describe('BlipImageProcessor config', () => {
  it('reads an instructblip-vicuna-7b style config, frozen, and defaults to BlipImageProcessor.__init__', () => {
    const c = parse(INSTRUCTBLIP_VICUNA);
    expect(c).toMatchObject({
      type: 'BlipImageProcessor',
      declaredType: 'BlipImageProcessor',
      size: { height: 224, width: 224 },
      resample: 'bicubic',
      doRescale: true,
      doNormalize: true,
    });
    expect(Object.isFrozen(c.size)).toBe(true);
    const defaults = parse({ image_processor_type: 'BlipImageProcessor' });
    expect(defaults).toMatchObject({
      size: { height: 384, width: 384 },
      resample: 'bicubic',
      doResize: true,
      doConvertRgb: true,
      rescaleFactor: 1 / 255,
      imageMean: OPENAI_CLIP_MEAN,
      imageStd: OPENAI_CLIP_STD,
    });
    // An int size is a square (get_size_dict(default_to_square=True)), unlike CLIP's shortest edge.
    expect(parse({ image_processor_type: 'BlipImageProcessor', size: 32 }).size).toEqual({
      height: 32,
      width: 32,
    });
  });

  it('is chosen by the Fast alias and by the InstructBLIP and BLIP-2 processor classes', () => {
    const { image_processor_type: _, ...rest } = INSTRUCTBLIP_VICUNA;
    expect(parse(rest).declaredType).toBe('InstructBlipProcessor');
    expect(parse({ ...rest, processor_class: 'Blip2Processor' }).type).toBe('BlipImageProcessor');
    expect(
      parse({ ...INSTRUCTBLIP_VICUNA, image_processor_type: 'BlipImageProcessorFast' }).declaredType,
    ).toBe('BlipImageProcessorFast');
  });

  it('rejects a shortest-edge size (BlipImageProcessor.resize needs height and width) and bad fields by name', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ size: { shortest_edge: 224 } }, 'size must be an integer, [height, width] or {"height", "width"}'],
      [{ size: { height: 0, width: 224 } }, 'size.height must be a positive integer, got 0'],
      [{ resample: 9 }, 'resample must be a PIL resampling code'],
      [{ image_std: [0.5, 0, 0.5] }, 'image_std[1] must be a non-zero finite number, got 0'],
    ];
    for (const [fields, message] of cases) {
      const error = parseError({ ...INSTRUCTBLIP_VICUNA, ...fields });
      expect(error.code).toBe('BAD_CONFIG');
      expect(error.message).toContain(message);
    }
  });
});

describe('BlipImageProcessor preprocessing', () => {
  it('stretches a non-square image to the configured square, no crop, with the hand-computed values', () => {
    // 2 × 1 pixels, nearest filter to 4 × 4: PIL maps output column u to source floor((u + 0.5) / 2).
    const left = [255, 0, 10];
    const right = [0, 128, 250];
    const img = image(2, 1, (x) => (x === 0 ? left : right));
    const config = parse({ ...INSTRUCTBLIP_VICUNA, size: { height: 4, width: 4 }, resample: 0 });
    const out = preprocessImage(img, config);
    expect([out.channels, out.height, out.width]).toEqual([3, 4, 4]);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 4; x++) {
          const source = x < 2 ? left : right;
          expect(out.pixelValues[c * 16 + y * 4 + x]).toBe(normalised(source[c], c));
        }
      }
    }
    // The whole original maps onto the whole square: x scaled by 2/4, y by 1/4.
    expect(out.geometry).toMatchObject({
      originalWidth: 2,
      originalHeight: 1,
      scaleX: 0.5,
      scaleY: 0.25,
      offsetX: 0,
      offsetY: 0,
      content: { x: 0, y: 0, width: 4, height: 4 },
    });
  });

  it('keeps a flat colour flat under the default bicubic filter and honours do_normalize / do_rescale', () => {
    const colour = [200, 30, 90];
    const img = image(5, 3, () => colour);
    const out = preprocessImage(img, parse({ ...INSTRUCTBLIP_VICUNA, size: 6 }));
    expect([out.height, out.width]).toEqual([6, 6]);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 36; i++) expect(out.pixelValues[c * 36 + i]).toBe(normalised(colour[c], c));
    }
    const raw = preprocessImage(img, parse({ ...INSTRUCTBLIP_VICUNA, size: 6, do_normalize: false }));
    expect(raw.pixelValues[0]).toBe(Math.fround(200 / 255));
    const bytes = preprocessImage(
      img,
      parse({ ...INSTRUCTBLIP_VICUNA, size: 6, do_normalize: false, do_rescale: false }),
    );
    expect(bytes.pixelValues[36]).toBe(30);
    const unresized = preprocessImage(img, parse({ ...INSTRUCTBLIP_VICUNA, do_resize: false }));
    expect([unresized.height, unresized.width]).toEqual([3, 5]);
  });
});
