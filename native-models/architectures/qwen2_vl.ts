/** Qwen2-VL and Qwen2.5-VL (being built this session; see .scratch/families-brief.md). */
import { ModelFormatError } from '../errors.ts';
import type { Architecture } from './types.ts';

const notYet = (modelType: string): Architecture => ({
  modelType,
  parse(_json, source) {
    throw new ModelFormatError('UNSUPPORTED_MODEL', `${source}: ${modelType} support is not finished yet`);
  },
});

export const qwen2Vl: Architecture = notYet('qwen2_vl');
export const qwen25Vl: Architecture = notYet('qwen2_5_vl');
