/** model_type → architecture module. Adding a family is one import and one line here. */
import { ModelFormatError } from '../errors.ts';
import { instructBlip } from './instructblip.ts';
import { llava } from './llava.ts';
import { llavaNext } from './llava_next.ts';
import type { Architecture } from './types.ts';
import { vipllava } from './vipllava.ts';
import { qwen25Vl, qwen2Vl } from './qwen2_vl.ts';

const ARCHITECTURES: ReadonlyMap<string, Architecture> = new Map(
  [llava, llavaNext, vipllava, qwen2Vl, qwen25Vl, instructBlip].map((a) => [a.modelType, a]),
);

export const SUPPORTED_MODEL_TYPES = [...ARCHITECTURES.keys()];

export function architectureFor(modelType: unknown, source: string): Architecture {
  const found = typeof modelType === 'string' ? ARCHITECTURES.get(modelType) : undefined;
  if (!found) {
    throw new ModelFormatError(
      'UNSUPPORTED_MODEL',
      `${source}: model_type ${JSON.stringify(modelType)} is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
    );
  }
  return found;
}
