/**
 * preprocessor_config.json -> immutable config -> pixel_values, via the processor registry.
 */
import { join } from 'node:path';

import { FusionError } from '../../common/errors.ts';
import { readJsonFile } from '../files/jsonFile.ts';
import { ConfigReader } from './processors/fields.ts';
import {
  findImageProcessor,
  findImageProcessorForProcessorClass,
  supportedImageProcessorTypes,
} from './processors/registry.ts';
import type { ImageProcessorConfig, PreprocessOptions, ProcessedImage } from './processors/types.ts';
import type { RgbImage } from './types.ts';

export const PREPROCESSOR_CONFIG_FILE = 'preprocessor_config.json';

function unsupported(source: string, what: string, name: string): FusionError {
  return new FusionError(
    'BAD_CONFIG',
    `${source}: ${what} ${JSON.stringify(name)} is not supported (supported: ${supportedImageProcessorTypes().join(', ')})`,
  );
}

/**
 * Parses a preprocessor_config.json object. The processor is chosen like transformers'
 * AutoImageProcessor: image_processor_type, else feature_extractor_type with "FeatureExtractor"
 * renamed to "ImageProcessor", else (our addition) the processor_class.
 */
export function parsePreprocessorConfig(json: unknown, source: string): ImageProcessorConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    const got = Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json;
    throw new FusionError('BAD_CONFIG', `${source}: expected a JSON object, got ${got}`);
  }
  const reader = new ConfigReader(json as Record<string, unknown>, source);
  const declared = (key: string): string | null => {
    const v = reader.raw(key);
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') throw reader.fail(key, 'a string', v);
    return v;
  };
  const imageProcessorType = declared('image_processor_type');
  const featureExtractorType = declared('feature_extractor_type');
  const processorClass = declared('processor_class');
  if (imageProcessorType !== null) {
    const def = findImageProcessor(imageProcessorType);
    if (!def) throw unsupported(source, 'image_processor_type', imageProcessorType);
    return def.parse(reader, imageProcessorType);
  }
  if (featureExtractorType !== null) {
    const def = findImageProcessor(featureExtractorType.replace(/FeatureExtractor$/, 'ImageProcessor'));
    if (!def) throw unsupported(source, 'feature_extractor_type', featureExtractorType);
    return def.parse(reader, featureExtractorType);
  }
  if (processorClass !== null) {
    const def = findImageProcessorForProcessorClass(processorClass);
    if (!def) throw unsupported(source, 'processor_class', processorClass);
    return def.parse(reader, processorClass);
  }
  throw new FusionError(
    'BAD_CONFIG',
    `${source}: no image_processor_type (or feature_extractor_type / processor_class) given; ` +
      `supported: ${supportedImageProcessorTypes().join(', ')}`,
  );
}

/** Reads and parses `<dir>/preprocessor_config.json` (a regular file only: see engine/files). */
export async function loadPreprocessorConfig(dir: string): Promise<ImageProcessorConfig> {
  const file = join(dir, PREPROCESSOR_CONFIG_FILE);
  return parsePreprocessorConfig(await readJsonFile(file), file);
}

/** Runs the configured processor on one RGB image. */
export function preprocessImage(
  img: RgbImage,
  config: ImageProcessorConfig,
  options: PreprocessOptions = {},
): ProcessedImage {
  const def = findImageProcessor(config.type);
  if (!def) throw unsupported(config.source, 'image processor', config.type);
  const padToSquare = options.padToSquare ?? 'none';
  if (padToSquare !== 'none' && padToSquare !== 'mean-color') {
    throw new FusionError(
      'BAD_ARGUMENT',
      `padToSquare must be 'none' or 'mean-color', got ${JSON.stringify(padToSquare)}`,
    );
  }
  if (img.data.length !== img.width * img.height * 3 || img.width < 1 || img.height < 1) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `image data length ${img.data.length} does not match ${img.width}x${img.height} RGB`,
    );
  }
  return def.preprocess(img, config, { padToSquare });
}
