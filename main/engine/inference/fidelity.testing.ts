/**
 * Test support for the engine-vs-reference fidelity tests (fidelity, nextFidelity, qwenFidelity,
 * instructBlipFidelity, torchFidelity, qwenTorch): the comparisons they all state, each with the
 * tolerance its caller passes. Not used by the app.
 */
import { expect } from 'vitest';

import {
  lastRowErrors,
  maxRelativeError,
  type LastRowReadout,
  type ReferenceReadout,
} from '../../../native-models/testing/compare.ts';
import type { TorchRun } from '../../../native-models/reference/torchFixture.ts';
import type { LoadedModel } from '../model/openModel.ts';
import { embedSample, type PreparedSample } from './forward.ts';

/**
 * The engine's last-position read-out against the float64 reference's: logits, attention to the
 * image tokens `[start, end)` (every head) and hidden states (every layer), each below `tolerance`.
 */
export function expectLastRowMatch(
  ours: LastRowReadout,
  ref: ReferenceReadout,
  imageTokenSpan: readonly [number, number],
  heads: number,
  tolerance: number,
): void {
  const errors = lastRowErrors(ours, ref, imageTokenSpan, heads);
  expect(errors.logits).toBeLessThan(tolerance);
  expect(errors.attention).toBeLessThan(tolerance);
  expect(errors.hiddenStates).toBeLessThan(tolerance);
}

/**
 * The engine's embeddings of the image-token rows (embedSample, rows `[start, end)`) against the
 * reference's image features, one per row, below `tolerance`.
 */
export async function expectImageEmbedsMatch(
  model: LoadedModel,
  sample: PreparedSample,
  features: readonly ArrayLike<number>[],
  tolerance: number,
): Promise<void> {
  const embeds = await embedSample(model, sample);
  const D = model.spec.decoder.hiddenSize;
  const [start, end] = sample.imageTokenSpan;
  const expected = new Float64Array((end - start) * D);
  features.forEach((f, i) => expected.set(f, i * D));
  expect(maxRelativeError(embeds.subarray(start * D, end * D), expected)).toBeLessThan(tolerance);
}

/**
 * One layer of the reference's attention ([head][readout row] over all keys) from the read-out rows
 * to the image tokens `[start, end)`, laid out as the engine's [heads, rows, image tokens].
 */
export function rowsToImageAttention(
  layer: readonly (readonly Float64Array[])[],
  rows: number,
  imageTokenSpan: readonly [number, number],
  heads: number,
): Float64Array {
  const [start, end] = imageTokenSpan;
  const n = end - start;
  const expected = new Float64Array(heads * rows * n);
  for (let h = 0; h < heads; h++) {
    for (let r = 0; r < rows; r++) expected.set(layer[h][r].subarray(start, end), (h * rows + r) * n);
  }
  return expected;
}

/**
 * The reference's greedy tokens as the engine reports them: the reference returns the end-of-sequence
 * token it stops on, the engine stops before emitting it.
 */
export function withoutFinalEos(tokens: number[], eos: number | readonly number[]): number[] {
  const last = tokens.at(-1);
  const stops = typeof eos === 'number' ? last === eos : last !== undefined && eos.includes(last);
  return stops ? tokens.slice(0, -1) : tokens;
}

/** What the engine's forward returns, as far as a PyTorch fixture run is compared with it. */
export interface ImageReadout {
  readonly lastLogits: ArrayLike<number>;
  readonly imageAttention: readonly ArrayLike<number>[];
  readonly hiddenStates: readonly ArrayLike<number>[];
}

/**
 * The engine against one PyTorch fixture run: logits, the last position's head-mean attention to each
 * image token in every layer, and the hidden state after every layer, each below `tolerance`.
 */
export function expectTorchRunMatch(
  ours: ImageReadout,
  run: Pick<TorchRun, 'name' | 'logits' | 'attention' | 'hidden'>,
  tolerance: number,
): void {
  expect(maxRelativeError(ours.lastLogits, run.logits), `${run.name}: logits`).toBeLessThan(tolerance);
  run.attention.forEach((expected, l) =>
    expect(maxRelativeError(ours.imageAttention[l], expected), `${run.name}: attention ${l}`).toBeLessThan(
      tolerance,
    ),
  );
  run.hidden.forEach((expected, l) =>
    expect(maxRelativeError(ours.hiddenStates[l], expected), `${run.name}: hidden ${l}`).toBeLessThan(
      tolerance,
    ),
  );
}
