/**
 * CLIPImageProcessor (transformers models/clip/image_processing_clip.py, the slow PIL path):
 * convert to RGB -> resize (shortest edge, int() truncation, or exact size) with the configured PIL
 * filter -> center crop (zero padding when the crop is larger) -> rescale -> normalise -> channels
 * first. The field parsing and the pipeline are exported for processors built on the same steps.
 */
import { FusionError } from '../../../common/errors.ts';
import { addStep, identityGeometry, type GeometryStep, type ImageGeometry } from '../geometry.ts';
import { resizeImage, type Resample } from '../resample.ts';
import {
  centerCrop,
  meanColor,
  padToSquare,
  shortestEdgeSize,
  toPixelValues,
  type Size,
} from '../transforms.ts';
import type { RgbImage } from '../types.ts';
import { deepFreeze, type ConfigReader, type ResizeSize } from './fields.ts';
import type {
  ImageProcessorConfig,
  ImageProcessorDefinition,
  PreprocessOptions,
  ProcessedImage,
} from './types.ts';

/** transformers' OPENAI_CLIP_MEAN / OPENAI_CLIP_STD. */
export const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/**
 * The convert / resize / resample / rescale / normalise fields every processor here reads, with the
 * defaults their __init__ share (CLIPImageProcessor's, BlipImageProcessor's, Qwen2VLImageProcessor's).
 */
export interface PixelPipelineFields {
  /** Always honoured in effect: loadImage already returns RGB (Pillow's convert("RGB")). */
  readonly doConvertRgb: boolean;
  readonly doResize: boolean;
  readonly resample: Resample;
  readonly doRescale: boolean;
  readonly rescaleFactor: number;
  readonly doNormalize: boolean;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
}

/** Reads PixelPipelineFields: RGB, resize on, bicubic, rescale by 1/255, OpenAI CLIP mean and std. */
export function parsePixelPipelineFields(reader: ConfigReader): PixelPipelineFields {
  return {
    doConvertRgb: reader.bool('do_convert_rgb', true),
    doResize: reader.bool('do_resize', true),
    resample: reader.resample('resample', 'bicubic'),
    doRescale: reader.bool('do_rescale', true),
    rescaleFactor: reader.positiveNumber('rescale_factor', 1 / 255),
    doNormalize: reader.bool('do_normalize', true),
    imageMean: reader.channelTriple('image_mean', OPENAI_CLIP_MEAN, false),
    imageStd: reader.channelTriple('image_std', OPENAI_CLIP_STD, true),
  };
}

export interface ClipStyleConfig extends ImageProcessorConfig, PixelPipelineFields {
  readonly size: ResizeSize;
  readonly doCenterCrop: boolean;
  readonly cropSize: Size;
  /** LlavaImageProcessor's pad-to-square with the mean colour before resizing; false for CLIP. */
  readonly doPad: boolean;
}

/** Reads the CLIP fields with CLIPImageProcessor.__init__ defaults. */
export function parseClipStyleFields(
  reader: ConfigReader,
): Omit<ClipStyleConfig, 'type' | 'declaredType' | 'source' | 'doPad'> {
  let size = reader.resizeSize('size', { shortestEdge: 224 });
  // Kosmos-2 backwards compatibility in CLIPImageProcessor.__init__: use_square_size turns the
  // shortest edge into a square.
  if (reader.bool('use_square_size', false) && 'shortestEdge' in size) {
    size = { height: size.shortestEdge, width: size.shortestEdge };
  }
  return {
    ...parsePixelPipelineFields(reader),
    size,
    doCenterCrop: reader.bool('do_center_crop', true),
    cropSize: reader.exactSize('crop_size', { height: 224, width: 224 }),
  };
}

export function asClipStyleConfig(config: ImageProcessorConfig, expectedType: string): ClipStyleConfig {
  if (config.type !== expectedType || !('cropSize' in config)) {
    throw new FusionError('BAD_ARGUMENT', `expected a ${expectedType} config, got ${config.type}`);
  }
  return config as ClipStyleConfig;
}

export type ResizeCropConfig = Pick<
  ClipStyleConfig,
  'doResize' | 'size' | 'resample' | 'doCenterCrop' | 'cropSize'
>;

/** The resize and center-crop steps of the pipeline for an image of this size (sizes only). */
export function resizeAndCropSteps(
  fromWidth: number,
  fromHeight: number,
  config: ResizeCropConfig,
): GeometryStep[] {
  const steps: GeometryStep[] = [];
  let width = fromWidth;
  let height = fromHeight;
  if (config.doResize) {
    const target =
      'shortestEdge' in config.size ? shortestEdgeSize(height, width, config.size.shortestEdge) : config.size;
    steps.push({ kind: 'resize', fromWidth, fromHeight, width: target.width, height: target.height });
    width = target.width;
    height = target.height;
  }
  if (config.doCenterCrop) {
    // image_transforms.center_crop's window origin (floor division; negative when the crop is larger).
    const top = Math.floor((height - config.cropSize.height) / 2);
    const left = Math.floor((width - config.cropSize.width) / 2);
    steps.push({ kind: 'crop', left, top, width: config.cropSize.width, height: config.cropSize.height });
  }
  return steps;
}

/** Resize (shortest edge or exact size) and center crop, as configured, recording both in the geometry. */
export function applyResizeAndCrop(
  img: RgbImage,
  geometry: ImageGeometry,
  config: ResizeCropConfig,
): { image: RgbImage; geometry: ImageGeometry } {
  let image = img;
  let g = geometry;
  for (const step of resizeAndCropSteps(img.width, img.height, config)) {
    image =
      step.kind === 'resize'
        ? resizeImage(image, step.width, step.height, config.resample)
        : centerCrop(image, config.cropSize).image;
    g = addStep(g, step);
  }
  return { image, geometry: g };
}

/** The shared pipeline: optional pad, resize, center crop, rescale/normalise; geometry recorded. */
export function runClipStylePipeline(
  img: RgbImage,
  config: ClipStyleConfig,
  options: PreprocessOptions,
): ProcessedImage {
  let image = img;
  let geometry = identityGeometry(img.width, img.height);
  if (config.doPad || options.padToSquare === 'mean-color') {
    const padded = padToSquare(image, meanColor(config.imageMean));
    if (padded.image !== image) {
      geometry = addStep(geometry, {
        kind: 'pad',
        width: padded.image.width,
        height: padded.image.height,
        left: padded.left,
        top: padded.top,
      });
      image = padded.image;
    }
  }
  ({ image, geometry } = applyResizeAndCrop(image, geometry, config));
  return {
    pixelValues: toPixelValues(image, config),
    channels: 3,
    height: image.height,
    width: image.width,
    geometry: deepFreeze(geometry),
  };
}

export const clipImageProcessor: ImageProcessorDefinition = {
  type: 'CLIPImageProcessor',
  aliases: ['CLIPImageProcessorFast'],
  processorClasses: ['CLIPProcessor'],
  parse(reader, declaredType) {
    const config: ClipStyleConfig = {
      type: 'CLIPImageProcessor',
      declaredType,
      source: reader.source,
      ...parseClipStyleFields(reader),
      doPad: false,
    };
    return deepFreeze(config);
  },
  preprocess(img, config, options) {
    return runClipStylePipeline(img, asClipStyleConfig(config, 'CLIPImageProcessor'), options);
  },
};
