/**
 * Checks a BuiltGraph's declared weights against a checkpoint before any bytes are read (modelFiles.ts
 * writes them). Every problem is reported at once (missing tensors, wrong shapes, wrong dtypes), so a
 * user fixing a converted checkpoint sees the whole list rather than one error per attempt.
 */
import { ModelFormatError } from '../errors.ts';
import type { WeightRef } from './builder.ts';

export interface WeightSource {
  /** Shape of a checkpoint tensor, or undefined when the checkpoint lacks it. */
  shapeOf(name: string): readonly number[] | undefined;
  /** Dtype label of a checkpoint tensor (for messages), e.g. "BF16". */
  dtypeOf(name: string): string | undefined;
  /** The tensor's bytes exactly as the checkpoint stores them. */
  readRaw(name: string): Promise<Uint8Array>;
}

export const OPSET_VERSION = 17;

export function describeWeightProblems(refs: readonly WeightRef[], source: WeightSource): string[] {
  const problems: string[] = [];
  for (const ref of refs) {
    const shape = source.shapeOf(ref.source);
    if (!shape) {
      problems.push(`missing tensor "${ref.source}" (expected shape [${ref.shape.join(', ')}])`);
    } else if (shape.length !== ref.shape.length || shape.some((d, i) => d !== ref.shape[i])) {
      problems.push(
        `tensor "${ref.source}" has shape [${shape.join(', ')}], expected [${ref.shape.join(', ')}]`,
      );
    } else {
      const dtype = source.dtypeOf(ref.source);
      if (dtype && !['F32', 'F16', 'BF16', 'F64'].includes(dtype)) {
        problems.push(`tensor "${ref.source}" has dtype ${dtype}, expected F32, F16 or BF16`);
      }
    }
  }
  return problems;
}

export function assertWeights(refs: readonly WeightRef[], source: WeightSource, where: string): void {
  const problems = describeWeightProblems(refs, source);
  if (problems.length > 0) {
    throw new ModelFormatError(
      'BAD_WEIGHTS',
      `${where}: ${problems.length} weight problem(s):\n  ${problems.join('\n  ')}`,
    );
  }
}
