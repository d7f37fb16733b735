/**
 * BlipImageProcessor (transformers models/blip/image_processing_blip.py, the slow PIL path), used by
 * BLIP, BLIP-2 and InstructBLIP: convert to RGB -> resize to exactly size {height, width} (an int is
 * a square: get_size_dict(default_to_square=True)) with the configured PIL filter -> rescale ->
 * normalise -> channels first. No crop and no padding, so a non-square image is stretched to the
 * square the vision tower takes. The pipeline is clip.ts's, with its center crop off.
 */
import { FusionError } from '../../../common/errors.ts';
import type { Resample } from '../resample.ts';
import type { Size } from '../transforms.ts';
import { OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, runClipStylePipeline } from './clip.ts';
import { deepFreeze } from './fields.ts';
import type { ImageProcessorConfig, ImageProcessorDefinition } from './types.ts';

export interface BlipImageConfig extends ImageProcessorConfig {
  /** Always honoured in effect: loadImage already returns RGB (Pillow's convert("RGB")). */
  readonly doConvertRgb: boolean;
  readonly doResize: boolean;
  /** The exact output size (BlipImageProcessor.resize needs height and width, never a shortest edge). */
  readonly size: Size;
  readonly resample: Resample;
  readonly doRescale: boolean;
  readonly rescaleFactor: number;
  readonly doNormalize: boolean;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
}

export function asBlipImageConfig(config: ImageProcessorConfig): BlipImageConfig {
  if (config.type !== 'BlipImageProcessor') {
    throw new FusionError('BAD_ARGUMENT', `expected a BlipImageProcessor config, got ${config.type}`);
  }
  return config as BlipImageConfig;
}

export const blipImageProcessor: ImageProcessorDefinition = {
  type: 'BlipImageProcessor',
  aliases: ['BlipImageProcessorFast'],
  // transformers pairs both processors with BlipImageProcessor (image_processor_class).
  processorClasses: ['InstructBlipProcessor', 'Blip2Processor'],
  parse(reader, declaredType) {
    // BlipImageProcessor.__init__ defaults.
    const config: BlipImageConfig = {
      type: 'BlipImageProcessor',
      declaredType,
      source: reader.source,
      doConvertRgb: reader.bool('do_convert_rgb', true),
      doResize: reader.bool('do_resize', true),
      size: reader.exactSize('size', { height: 384, width: 384 }),
      resample: reader.resample('resample', 'bicubic'),
      doRescale: reader.bool('do_rescale', true),
      rescaleFactor: reader.positiveNumber('rescale_factor', 1 / 255),
      doNormalize: reader.bool('do_normalize', true),
      imageMean: reader.channelTriple('image_mean', OPENAI_CLIP_MEAN, false),
      imageStd: reader.channelTriple('image_std', OPENAI_CLIP_STD, true),
    };
    return deepFreeze(config);
  },
  preprocess(img, config, options) {
    // CLIP's pipeline with no crop: resize straight to the square, then rescale and normalise. An
    // explicit padToSquare 'mean-color' still pads first, as it does for every CLIP-style processor.
    const blip = asBlipImageConfig(config);
    return runClipStylePipeline(
      img,
      { ...blip, doCenterCrop: false, cropSize: blip.size, doPad: false },
      options,
    );
  },
};
