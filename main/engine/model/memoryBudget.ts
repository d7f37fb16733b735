/**
 * Know before you allocate: the resident memory a model will need under a precision, from its
 * config and checkpoint header alone, checked against what the machine (or GPU) has free.
 *
 * Needed = stored weights (mapped from the model cache, each once) + the widest weight widened to
 * float32 while it is used + activations of a reference prompt (every layer's KV cache and input,
 * one layer's attention scores and MLP) + the runtime itself.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';

import type { DecoderShape } from '../../../native-models/architectures/contract.ts';
import type { BuiltGraph } from '../../../native-models/onnx/builder.ts';
import {
  PRECISIONS,
  storageFor,
  storedWeightBytes,
  type Precision,
} from '../../../native-models/onnx/storage.ts';
import { FusionError } from '../../common/errors.ts';
import type { ConcreteProvider } from '../runtime/providers.ts';
import { gib } from './modelCache.ts';

/** Node, ONNX Runtime and the engine's own tables. */
const RUNTIME_BYTES = 512 * 2 ** 20;
/** The prompt length the estimate budgets activations for (an image's tokens and a question). */
export const REFERENCE_PROMPT_TOKENS = 1024;

export interface MemoryEstimate {
  readonly precision: Precision;
  readonly weightBytes: number;
  readonly workingBytes: number;
  readonly totalBytes: number;
}

export interface WeightFacts {
  dtypeOf(name: string): string | undefined;
}

export function estimateMemory(
  graphs: readonly BuiltGraph[],
  decoder: DecoderShape & { readonly intermediateSize?: number },
  weights: WeightFacts,
  precision: Precision,
  promptTokens = REFERENCE_PROMPT_TOKENS,
): MemoryEstimate {
  const refs = graphs.flatMap((g) => g.weights);
  const weightBytes = storedWeightBytes(refs, (name) => weights.dtypeOf(name), precision);
  // The widest weight widened to float32 at once (a row view widens only its rows).
  let widest = 0;
  for (const w of refs) {
    const elements = w.rows
      ? (w.rows[1] - w.rows[0]) * w.shape.slice(1).reduce((a, b) => a * b, 1)
      : w.shape.reduce((a, b) => a * b, 1);
    const storage = storageFor(precision, weights.dtypeOf(w.source) ?? 'F32');
    if (storage !== 'F32' && !w.storedAsIs) widest = Math.max(widest, elements * 4);
  }
  const T = promptTokens;
  const { layers, hiddenSize: D, heads, kvHeads, headDim } = decoder;
  const intermediate = decoder.intermediateSize ?? 4 * D;
  const perLayerKv = 2 * kvHeads * T * headDim * 4;
  const activations =
    layers * (2 * perLayerKv + T * D * 4) + // caches (ONNX Runtime's and the engine's copy) and layer inputs
    3 * heads * T * T * 4 + // one layer's scores, bias and probabilities
    3 * T * intermediate * 4; // one layer's MLP
  const workingBytes = 2 * widest + activations + RUNTIME_BYTES;
  return { precision, weightBytes, workingBytes, totalBytes: weightBytes + workingBytes };
}

/**
 * Bytes the OS could give this process now. Linux: MemAvailable (counts reclaimable cache). macOS
 * reports only never-used pages as free, though it reclaims inactive and compressed memory on demand,
 * so three quarters of physical memory stands in. Windows: available physical memory.
 * FUSIONSCOPE_MEMORY_CHECK=off skips the check, for whoever knows better.
 */
export async function availableMemory(): Promise<number> {
  if (process.env.FUSIONSCOPE_MEMORY_CHECK === 'off') return Number.POSITIVE_INFINITY;
  try {
    const meminfo = await readFile('/proc/meminfo', 'utf8');
    const match = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo);
    if (match) return Number(match[1]) * 1024;
  } catch {
    // Not Linux.
  }
  return process.platform === 'darwin' ? Math.max(freemem(), 0.75 * totalmem()) : freemem();
}

/** Free memory of the first NVIDIA GPU, when nvidia-smi answers (CUDA only). */
export function availableGpuMemory(): Promise<number | undefined> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      ['--query-gpu=memory.free', '--format=csv,noheader,nounits'],
      { timeout: 5000 },
      (error, stdout) => {
        const mib = Number(stdout?.split('\n')[0]?.trim());
        resolve(error || !Number.isFinite(mib) || mib <= 0 ? undefined : mib * 2 ** 20);
      },
    );
  });
}

/**
 * Throws INSUFFICIENT_RESOURCES when `precision` cannot fit `available` bytes, saying what it needs,
 * what is free and which precisions would fit.
 */
export function assertFits(
  estimate: (precision: Precision) => MemoryEstimate,
  precision: Precision,
  available: number,
  where: { provider: ConcreteProvider; memory: 'RAM' | 'GPU memory' },
): void {
  const chosen = estimate(precision);
  if (chosen.totalBytes <= available) return;
  const alternatives = PRECISIONS.filter((p) => p !== precision && p !== 'auto')
    .map(estimate)
    .filter((e) => e.totalBytes <= available && e.totalBytes < chosen.totalBytes)
    .map((e) => `--precision ${e.precision} (${gib(e.totalBytes)})`);
  const hint = alternatives.length
    ? `; it would fit with ${alternatives.join(' or ')}`
    : '; no precision fits: use a machine with more memory, or a smaller model';
  throw new FusionError(
    'INSUFFICIENT_RESOURCES',
    `this model needs about ${gib(chosen.totalBytes)} of ${where.memory} with --precision ${precision} ` +
      `(weights ${gib(chosen.weightBytes)}, working memory for a ${REFERENCE_PROMPT_TOKENS}-token prompt ${gib(chosen.workingBytes)}) ` +
      `on ${where.provider}, but ${gib(available)} is available${hint}`,
  );
}
