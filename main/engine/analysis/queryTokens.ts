/**
 * How InstructBLIP's query tokens are drawn on the image. A query token is a Q-Former output that has
 * read the whole image through cross-attention, so it has no rectangle of its own; the workbench
 * spreads the attention a query receives over the patches the query itself attended to:
 *
 *   projection[q, p] = mean over cross-attention layers and heads of P(query q → patch p),
 *                      with the CLS column dropped and each row renormalised over the patches.
 *
 * An attention map over the queries then becomes Σ_q a_q · projection[q, ·] on the patch grid
 * (toDisplayMap in imageTokens.ts). The mean over layers and heads is the choice the app documents;
 * it keeps every cross-attention layer's say and needs no per-layer pick.
 */
import { FusionError } from '../../common/errors.ts';

/** `crossAttention` is [C, H, Q, 1 + patches] as the vision graph returns it. */
export function queryProjection(
  crossAttention: ArrayLike<number>,
  dims: readonly number[],
  queries: number,
  patches: number,
): Float32Array {
  const [layers, heads, q, keys] = dims;
  if (dims.length !== 4 || q !== queries || keys !== patches + 1 || layers < 1 || heads < 1) {
    throw new FusionError(
      'RUNTIME',
      `the Q-Former's cross-attention has shape [${dims.join(', ')}], expected [layers, heads, ${queries}, ${patches + 1}]`,
    );
  }
  const out = new Float32Array(queries * patches);
  const sums = new Float64Array(queries * patches);
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      const base = (l * heads + h) * queries * keys;
      for (let i = 0; i < queries; i++) {
        for (let p = 0; p < patches; p++) sums[i * patches + p] += crossAttention[base + i * keys + 1 + p];
      }
    }
  }
  for (let i = 0; i < queries; i++) {
    let total = 0;
    for (let p = 0; p < patches; p++) total += sums[i * patches + p];
    for (let p = 0; p < patches; p++) {
      out[i * patches + p] = total > 0 ? sums[i * patches + p] / total : 1 / patches;
    }
  }
  return out;
}
