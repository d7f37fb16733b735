/**
 * BlipImageProcessor (transformers models/blip/image_processing_blip.py, the slow PIL path), used by
 * BLIP, BLIP-2 and InstructBLIP: convert to RGB -> resize to exactly size {height, width} (an int is
 * a square: get_size_dict(default_to_square=True)) with the configured PIL filter -> rescale ->
 * normalise -> channels first. No crop and no padding, so a non-square image is stretched to the
 * square the vision tower takes. The pipeline is clip.ts's, with its center crop off.
 */
import { FusionError } from '../../../common/errors.ts';
import type { Size } from '../transforms.ts';
import { parsePixelPipelineFields, runClipStylePipeline, type PixelPipelineFields } from './clip.ts';
import { deepFreeze } from './fields.ts';
import type { ImageProcessorConfig, ImageProcessorDefinition } from './types.ts';

export interface BlipImageConfig extends ImageProcessorConfig, PixelPipelineFields {
  /** The exact output size (BlipImageProcessor.resize needs height and width, never a shortest edge). */
  readonly size: Size;
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
      ...parsePixelPipelineFields(reader),
      size: reader.exactSize('size', { height: 384, width: 384 }),
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
