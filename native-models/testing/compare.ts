/**
 * The error measure every numerical test states its tolerance in: the largest absolute difference
 * divided by the largest magnitude of the expected values (so it is scale-free, and a near-zero entry
 * cannot blow it up).
 */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`cannot compare ${actual.length} values with ${expected.length}`);
  }
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  }
  return worst / Math.max(scale, 1e-12);
}

/** What the engine's forward pass returns, as far as a reference comparison reads it. */
export interface LastRowReadout {
  readonly lastLogits: ArrayLike<number>;
  /** Per layer: [heads, 1 row, image tokens] from the last position. */
  readonly attention: readonly ArrayLike<number>[];
  /** Per layer: the residual stream at the last position. */
  readonly hiddenStates: readonly ArrayLike<number>[];
}

/** The reference's full output for the same input (see reference/llava.ts ReferenceOutput). */
export interface ReferenceReadout {
  readonly logits: readonly ArrayLike<number>[];
  /** [layer][head][readout row 0 = the last position] over all key positions. */
  readonly attention: readonly (readonly (readonly Float64Array[])[])[];
  readonly hiddenStates: readonly (readonly ArrayLike<number>[])[];
}

/**
 * The largest maxRelativeError, over layers, between the engine's last-position read-out and the
 * reference's: logits, attention to the image tokens `[start, end)` (every head), hidden states.
 */
export function lastRowErrors(
  ours: LastRowReadout,
  ref: ReferenceReadout,
  imageTokenSpan: readonly [number, number],
  heads: number,
): { logits: number; attention: number; hiddenStates: number } {
  const last = ref.logits.length - 1;
  if (
    ours.attention.length !== ref.attention.length ||
    ours.hiddenStates.length !== ref.hiddenStates.length
  ) {
    throw new Error(
      `the engine read out ${ours.attention.length} layers, the reference ${ref.attention.length}`,
    );
  }
  const [start, end] = imageTokenSpan;
  const n = end - start;
  let attention = 0;
  let hiddenStates = 0;
  ours.attention.forEach((layer, l) => {
    const expected = new Float64Array(heads * n);
    for (let h = 0; h < heads; h++) expected.set(ref.attention[l][h][0].subarray(start, end), h * n);
    attention = Math.max(attention, maxRelativeError(layer, expected));
    hiddenStates = Math.max(hiddenStates, maxRelativeError(ours.hiddenStates[l], ref.hiddenStates[l][last]));
  });
  return { logits: maxRelativeError(ours.lastLogits, ref.logits[last]), attention, hiddenStates };
}
