/**
 * The lens both lens analyses share (logit-lens, image-lens; nostalgebraist 2020): rows of a residual
 * stream read through the model's own final norm and LM head as if they left the last layer, and each
 * read-out row summarised as a softmax in float64 (top tokens, the gold token's probability and rank).
 */
import { logitsFor } from '../inference/forward.ts';
import type { LoadedModel } from '../model/openModel.ts';

/** One read-out row: softmax over the vocabulary (in float64), the gold token's place in it. */
export interface LensRow {
  readonly top: readonly { readonly token: number; readonly prob: number }[];
  readonly top1Prob: number;
  /** Absent without a gold token. */
  readonly goldProb?: number;
  /** 1 + the tokens with a strictly larger logit (ties rank the gold token first). */
  readonly goldRank?: number;
}

export function lensRow(logits: ArrayLike<number>, k: number, gold?: number): LensRow {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const prob = (i: number) => Math.exp(logits[i] - max) / sum;
  // The k largest, largest first, ties by lower index: one pass with a short sorted list.
  const top: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    if (top.length === k && logits[i] <= logits[top[k - 1]]) continue;
    let at = top.length;
    while (at > 0 && logits[top[at - 1]] < logits[i]) at--;
    top.splice(at, 0, i);
    if (top.length > k) top.pop();
  }
  const row = { top: top.map((token) => ({ token, prob: prob(token) })), top1Prob: prob(top[0]) };
  if (gold === undefined) return row;
  let above = 0;
  for (let i = 0; i < logits.length; i++) if (logits[i] > logits[gold]) above++;
  return { ...row, goldProb: prob(gold), goldRank: above + 1 };
}

/**
 * Most logits one head call returns (rows × vocabulary, float32: 64 MiB). A 7B model's 576 image
 * tokens × 32 000 words is 74 MiB for one layer, and Qwen2-VL's vocabulary is 152 k wide, so a layer's
 * image tokens go through the head in chunks of rows that keep under it.
 */
export const LENS_LOGITS_BUDGET = 1 << 24;

/**
 * Rows `positions` of a residual stream [positions, D] through the final norm and LM head, as many per
 * head call as `budget` logits allow (at least one), each summarised by `lensRow` as soon as its
 * chunk's logits arrive, so at most one chunk of logits is alive at a time.
 */
export async function lensRows(
  model: LoadedModel,
  hidden: Float32Array,
  positions: readonly number[],
  k: number,
  gold?: number,
  budget: number = LENS_LOGITS_BUDGET,
): Promise<LensRow[]> {
  const vocab = model.spec.decoder.vocabSize;
  const chunk = Math.max(1, Math.floor(budget / vocab));
  const rows: LensRow[] = [];
  for (let from = 0; from < positions.length; from += chunk) {
    const picked = positions.slice(from, from + chunk);
    const logits = await logitsFor(model, hidden, picked);
    // The head's output width, not the config's: a checkpoint may pad its vocabulary.
    const width = logits.length / picked.length;
    for (let i = 0; i < picked.length; i++) {
      rows.push(lensRow(logits.subarray(i * width, (i + 1) * width), k, gold));
    }
  }
  return rows;
}
