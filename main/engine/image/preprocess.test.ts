import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { FusionError } from '../../common/errors.ts';
import {
  fixturePath,
  readFixtureBytes,
  readFixtureJson,
  type FixtureIndex,
  type PipelineEntry,
} from './fixtures/read.ts';
import { loadImage } from './load.ts';
import { loadPreprocessorConfig, parsePreprocessorConfig, preprocessImage } from './preprocess.ts';
import type { ClipStyleConfig } from './processors/clip.ts';

const pipeline = readFixtureJson<FixtureIndex<PipelineEntry>>('pipeline.json');
const pipelineBlob = readFixtureBytes('pipeline.bin');

function expectedValues(e: PipelineEntry): Float32Array {
  const bytes = pipelineBlob.slice(e.offset, e.offset + e.count * 4);
  return new Float32Array(bytes.buffer);
}

function parseError(json: unknown): FusionError {
  try {
    parsePreprocessorConfig(json, 'preprocessor_config.json');
  } catch (error) {
    expect(error).toBeInstanceOf(FusionError);
    return error as FusionError;
  }
  throw new Error('expected a BAD_CONFIG error');
}

describe('preprocessImage matches the transformers CLIP/Llava pipeline (numpy reference)', () => {
  it('has reference cases for every option', () => {
    expect(new Set(pipeline.entries.map((e) => e.case)).size).toBeGreaterThanOrEqual(10);
  });

  for (const e of pipeline.entries) {
    it(`${e.case} on ${e.image} (padToSquare ${e.padToSquare})`, async () => {
      const config = parsePreprocessorConfig(e.config, `${e.case}.json`);
      const img = await loadImage(fixturePath('inputs', e.image));
      const out = preprocessImage(img, config, { padToSquare: e.padToSquare });
      expect([out.channels, out.height, out.width]).toEqual(e.shape);
      const want = expectedValues(e);
      let worst = 0;
      for (let i = 0; i < want.length; i++) {
        worst = Math.max(worst, Math.abs(out.pixelValues[i * e.stride] - want[i]));
      }
      expect(worst).toBeLessThanOrEqual(1e-6);
      // Same float32 arithmetic as numpy: the bytes are identical, not just close.
      const bytes = new Uint8Array(
        out.pixelValues.buffer,
        out.pixelValues.byteOffset,
        out.pixelValues.byteLength,
      );
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(e.sha256);
    });
  }
});

describe('parsePreprocessorConfig', () => {
  it('fills transformers CLIPImageProcessor defaults and freezes the result', () => {
    const config = parsePreprocessorConfig(
      { image_processor_type: 'CLIPImageProcessor' },
      'x.json',
    ) as ClipStyleConfig;
    expect(config).toEqual({
      type: 'CLIPImageProcessor',
      declaredType: 'CLIPImageProcessor',
      source: 'x.json',
      doConvertRgb: true,
      doResize: true,
      size: { shortestEdge: 224 },
      resample: 'bicubic',
      doCenterCrop: true,
      cropSize: { height: 224, width: 224 },
      doRescale: true,
      rescaleFactor: 1 / 255,
      doNormalize: true,
      imageMean: [0.48145466, 0.4578275, 0.40821073],
      imageStd: [0.26862954, 0.26130258, 0.27577711],
      doPad: false,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.size)).toBe(true);
    expect(Object.isFrozen(config.imageMean)).toBe(true);
  });

  it('reads legacy int sizes, [h, w] lists and use_square_size', () => {
    const legacy = parsePreprocessorConfig(
      { feature_extractor_type: 'CLIPFeatureExtractor', size: 224, crop_size: 224 },
      'x.json',
    ) as ClipStyleConfig;
    expect(legacy.type).toBe('CLIPImageProcessor');
    expect(legacy.size).toEqual({ shortestEdge: 224 });
    expect(legacy.cropSize).toEqual({ height: 224, width: 224 });
    const list = parsePreprocessorConfig(
      { image_processor_type: 'CLIPImageProcessor', size: [20, 30] },
      'x',
    ) as ClipStyleConfig;
    expect(list.size).toEqual({ height: 20, width: 30 });
    const square = parsePreprocessorConfig(
      { image_processor_type: 'CLIPImageProcessor', size: { shortest_edge: 64 }, use_square_size: true },
      'x',
    ) as ClipStyleConfig;
    expect(square.size).toEqual({ height: 64, width: 64 });
  });

  it('chooses the processor from image_processor_type, feature_extractor_type, then processor_class', () => {
    const llava = parsePreprocessorConfig({ image_processor_type: 'LlavaImageProcessor', do_pad: true }, 'x');
    expect([llava.type, (llava as ClipStyleConfig).doPad]).toEqual(['LlavaImageProcessor', true]);
    const fast = parsePreprocessorConfig({ image_processor_type: 'CLIPImageProcessorFast' }, 'x');
    expect([fast.type, fast.declaredType]).toEqual(['CLIPImageProcessor', 'CLIPImageProcessorFast']);
    const byClass = parsePreprocessorConfig({ processor_class: 'LlavaProcessor' }, 'x');
    expect(byClass.type).toBe('LlavaImageProcessor');
    // image_processor_type wins over processor_class (llava-hf/llava-1.5-7b-hf names both).
    const both = parsePreprocessorConfig(
      { image_processor_type: 'CLIPImageProcessor', processor_class: 'LlavaProcessor' },
      'x',
    );
    expect(both.type).toBe('CLIPImageProcessor');
  });

  it('rejects bad fields by name with the offending value', () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { size: { shortest_edge: -3 } },
        'preprocessor_config.json: size.shortest_edge must be a positive integer, got -3',
      ],
      [
        { size: { height: 10 } },
        'size must be an object with "shortest_edge" or with "height" and "width", got {"height":10}',
      ],
      [{ crop_size: { height: 0, width: 5 } }, 'crop_size.height must be a positive integer, got 0'],
      [
        { resample: 7 },
        'resample must be a PIL resampling code (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming), got 7',
      ],
      [{ do_resize: 'yes' }, 'do_resize must be true or false, got "yes"'],
      [{ rescale_factor: 0 }, 'rescale_factor must be a positive number, got 0'],
      [
        { image_mean: [0.5, 0.5] },
        'image_mean must be a number or a list of 3 finite numbers, got [0.5,0.5]',
      ],
      [{ image_std: [0.5, 0, 0.5] }, 'image_std[1] must be a non-zero finite number, got 0'],
      [{ size: 2.5 }, 'size must be a positive integer, got 2.5'],
    ];
    for (const [fields, message] of cases) {
      const error = parseError({ image_processor_type: 'CLIPImageProcessor', ...fields });
      expect(error.code).toBe('BAD_CONFIG');
      expect(error.message).toContain(message);
    }
  });

  it('names unknown processor types and lists the supported ones', () => {
    const error = parseError({ image_processor_type: 'SiglipImageProcessor' });
    expect(error.message).toBe(
      'preprocessor_config.json: image_processor_type "SiglipImageProcessor" is not supported ' +
        '(supported: CLIPImageProcessor, LlavaImageProcessor, LlavaNextImageProcessor, ' +
        'Qwen2VLImageProcessor, BlipImageProcessor)',
    );
    expect(parseError({ size: 224 }).message).toMatch(/no image_processor_type/);
    expect(parseError([1, 2]).message).toBe('preprocessor_config.json: expected a JSON object, got an array');
  });
});

describe('loadPreprocessorConfig', () => {
  it('reads preprocessor_config.json from a model folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fusionscope-image-'));
    await writeFile(
      join(dir, 'preprocessor_config.json'),
      JSON.stringify({ image_processor_type: 'CLIPImageProcessor', size: { shortest_edge: 336 } }),
    );
    const config = (await loadPreprocessorConfig(dir)) as ClipStyleConfig;
    expect(config.size).toEqual({ shortestEdge: 336 });
    expect(config.source).toBe(join(dir, 'preprocessor_config.json'));
  });

  it('reports a missing file as MISSING_FILE and broken JSON as BAD_CONFIG', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fusionscope-image-'));
    await expect(loadPreprocessorConfig(dir)).rejects.toMatchObject({ code: 'MISSING_FILE' });
    await writeFile(join(dir, 'preprocessor_config.json'), '{"size": ');
    await expect(loadPreprocessorConfig(dir)).rejects.toMatchObject({ code: 'BAD_CONFIG' });
  });
});

describe('preprocessImage options', () => {
  const config = parsePreprocessorConfig(
    { image_processor_type: 'CLIPImageProcessor', size: { shortest_edge: 8 }, crop_size: 8 },
    'x',
  );
  const img = { width: 4, height: 2, data: new Uint8Array(24).fill(200) };

  it('never pads unless asked', () => {
    const plain = preprocessImage(img, config);
    expect(plain.geometry.steps.map((s) => s.kind)).toEqual(['resize', 'crop']);
    const padded = preprocessImage(img, config, { padToSquare: 'mean-color' });
    expect(padded.geometry.steps.map((s) => s.kind)).toEqual(['pad', 'resize', 'crop']);
  });

  it('rejects an unknown padToSquare value and a malformed image', () => {
    expect(() => preprocessImage(img, config, { padToSquare: 'zero' as 'none' })).toThrow(/padToSquare/);
    expect(() => preprocessImage({ width: 4, height: 2, data: new Uint8Array(5) }, config)).toThrow(
      FusionError,
    );
  });
});
