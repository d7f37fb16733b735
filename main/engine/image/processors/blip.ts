/** BlipImageProcessor (being built this session; see .scratch/families-brief.md). */
import { FusionError } from '../../../common/errors.ts';
import type { ImageProcessorDefinition } from './types.ts';

export const blipImageProcessor: ImageProcessorDefinition = {
  type: 'BlipImageProcessor',
  aliases: [],
  processorClasses: [],
  parse() {
    throw new FusionError('BAD_CONFIG', 'BlipImageProcessor is not finished yet');
  },
  preprocess() {
    throw new FusionError('BAD_CONFIG', 'BlipImageProcessor is not finished yet');
  },
};
