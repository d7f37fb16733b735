/** InstructBLIP (being built this session; see .scratch/families-brief.md). */
import { ModelFormatError } from '../errors.ts';
import type { Architecture } from './types.ts';

export const instructBlip: Architecture = {
  modelType: 'instructblip',
  parse(_json, source) {
    throw new ModelFormatError('UNSUPPORTED_MODEL', `${source}: instructblip support is not finished yet`);
  },
};
