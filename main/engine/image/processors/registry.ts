/**
 * The image processors FusionScope implements, looked up by the names a preprocessor_config.json can
 * use. A new processor (LlavaNext, Qwen2-VL, ...) is a new file exporting an ImageProcessorDefinition,
 * added to PROCESSORS below.
 */
import { blipImageProcessor } from './blip.ts';
import { clipImageProcessor } from './clip.ts';
import { llavaImageProcessor } from './llava.ts';
import { llavaNextImageProcessor } from './llavaNext.ts';
import { qwen2VlImageProcessor } from './qwen2vl.ts';
import type { ImageProcessorDefinition } from './types.ts';

const PROCESSORS: readonly ImageProcessorDefinition[] = [
  clipImageProcessor,
  llavaImageProcessor,
  llavaNextImageProcessor,
  qwen2VlImageProcessor,
  blipImageProcessor,
];

const BY_TYPE = new Map<string, ImageProcessorDefinition>();
const BY_PROCESSOR_CLASS = new Map<string, ImageProcessorDefinition>();
for (const def of PROCESSORS) {
  for (const name of [def.type, ...def.aliases]) BY_TYPE.set(name, def);
  for (const name of def.processorClasses) BY_PROCESSOR_CLASS.set(name, def);
}

/** By image_processor_type (or a feature_extractor_type already renamed to ...ImageProcessor). */
export function findImageProcessor(type: string): ImageProcessorDefinition | undefined {
  return BY_TYPE.get(type);
}

export function findImageProcessorForProcessorClass(
  processorClass: string,
): ImageProcessorDefinition | undefined {
  return BY_PROCESSOR_CLASS.get(processorClass);
}

export function supportedImageProcessorTypes(): string[] {
  return PROCESSORS.map((p) => p.type);
}
