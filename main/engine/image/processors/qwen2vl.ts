/** Qwen2VLImageProcessor (being built this session; see .scratch/families-brief.md). */
import { FusionError } from '../../../common/errors.ts';
import type { ImageProcessorDefinition } from './types.ts';

export const qwen2VlImageProcessor: ImageProcessorDefinition = {
  type: 'Qwen2VLImageProcessor',
  aliases: [],
  processorClasses: [],
  parse() {
    throw new FusionError('BAD_CONFIG', 'Qwen2VLImageProcessor is not finished yet');
  },
  preprocess() {
    throw new FusionError('BAD_CONFIG', 'Qwen2VLImageProcessor is not finished yet');
  },
};
