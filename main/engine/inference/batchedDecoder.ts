/**
 * Several recomputes of the same rows over one shared cached prefix, run together: at each layer one
 * graph call carries every block that has started by then, stacked along the rows, with a
 * block-diagonal attention bias so that each block sees the prefix and its own rows only. Blocks
 * differ in their start layer and intervention plan, as a masking sweep's windows do; batching them
 * turns Σ(L − start) layer calls of a few rows into L calls, which wins where a call's fixed cost
 * outweighs its rows (see experiments/sweep.ts).
 */
import type { RotaryPositions } from '../../../native-models/architectures/types.ts';
import {
  applyHiddenEdits,
  blockAttentionBias,
  coveringCache,
  gatherKV,
  pastFor,
  perHeadBias,
  runLayer,
  type BlockKeyBias,
  type DecoderLoopContext,
  type LayerKV,
} from './decoder.ts';
import type { InterventionPlan } from './interventionPlan.ts';

export interface DecoderBlock {
  /** First layer the block runs; below it, its rows are the shared pass's. */
  readonly startLayer: number;
  readonly plan: InterventionPlan;
}

export interface BatchedPassInput {
  readonly blocks: readonly DecoderBlock[];
  /** Absolute position of each block's first row; earlier positions come from `past`. */
  readonly offset: number;
  /** Rows per block: positions offset..offset+rows−1. */
  readonly rows: number;
  /** Per layer: the residual stream at its input for those rows, [rows, D]; a block starts from its start layer's. */
  readonly layerInputs: readonly (Float32Array | undefined)[];
  /** Rotary positions of one block's rows, per stream. */
  readonly ropePositions: RotaryPositions;
  /** Per layer: cache covering at least positions 0..offset−1, shared by every block. */
  readonly past: readonly (LayerKV | undefined)[];
  /** Keep each block's keys/values, which `present` needs. */
  readonly keepPresent?: boolean;
  readonly signal?: AbortSignal;
}

export interface BatchedPassOutput {
  /** Residual stream after the last layer, [blocks·rows, D], block b from row b·rows (before the final norm). */
  readonly hidden: Float32Array;
  /** Block b's cache per layer ≥ its start (positions 0..offset+rows−1), built on each call; needs keepPresent. */
  present(block: number): (LayerKV | undefined)[];
}

/**
 * Runs the blocks from the lowest start layer to the top, one layer call per layer. The caller bounds
 * the batch (`blocksPerCall`): a call's attention scores grow with blocks².
 */
export async function runBatchedDecoder(
  ctx: DecoderLoopContext,
  input: BatchedPassInput,
): Promise<BatchedPassOutput> {
  const { shape } = ctx;
  const D = shape.hiddenSize;
  const { blocks, offset, rows } = input;
  const rope = stackedRope(ctx, input.ropePositions, blocks.length, rows);
  const noReadout = new BigInt64Array(0);
  const bias = biasCache(ctx, offset, rows);
  const hidden: Float32Array[] = [];
  // Per block and layer: the whole cache when the block ran alone (it is the call's present), else only
  // the block's own rows, so a batch keeps little more than its blocks' rows on top of the prefix.
  const kept: LayerKV[][] = blocks.map(() => []);
  let top: Float32Array = new Float32Array(0);
  for (let layer = Math.min(...blocks.map((b) => b.startLayer)); layer < shape.layers; layer++) {
    if (input.signal?.aborted) throw input.signal.reason;
    const active = blocks.flatMap((block, b) => (block.startLayer <= layer ? [b] : []));
    for (const b of active) {
      if (blocks[b].startLayer === layer) hidden[b] = Float32Array.from(entryRows(input, layer, D));
      applyHiddenEdits(hidden[b], blocks[b].plan.hiddenEdits.get(layer), offset, D);
    }
    const result = await runLayer(ctx, layer, {
      hidden: stack(active.map((b) => hidden[b])),
      rope: rope(active.length),
      past: pastFor(input.past[layer], offset, shape),
      bias: bias(
        active.map((b) => keyBiasAt(blocks[b].plan, layer)),
        blocks[active[0]].plan.keyBiasHeads,
      ),
      readout: noReadout,
    });
    active.forEach((b, j) => {
      hidden[b] = result.hidden.subarray(j * rows * D, (j + 1) * rows * D);
      if (!input.keepPresent) return;
      const from = offset + j * rows;
      kept[b][layer] =
        active.length === 1 ? result.present : gatherKV([[result.present, from, from + rows]], shape);
    });
    top = result.hidden;
  }
  return {
    hidden: top,
    present: (b) =>
      kept[b].map((kv, layer) =>
        kv.length === offset + rows
          ? kv
          : gatherKV(
              [
                [coveringCache(input.past[layer], offset), 0, offset],
                [kv, 0, rows],
              ],
              shape,
            ),
      ),
  };
}

/**
 * How many of `blocks` blocks one call may carry while its attention scores, (n·rows) × (prefix +
 * n·rows) × heads float32s, stay within `budgetBytes`: at least 1, at most `blocks`.
 */
export function blocksPerCall(
  blocks: number,
  rows: number,
  prefix: number,
  heads: number,
  budgetBytes: number,
): number {
  let n = 1;
  while (n < blocks && scoreBytes(n + 1, rows, prefix, heads) <= budgetBytes) n++;
  return n;
}

function scoreBytes(blocks: number, rows: number, prefix: number, heads: number): number {
  return blocks * rows * (prefix + blocks * rows) * heads * 4;
}

function entryRows(input: BatchedPassInput, layer: number, D: number): Float32Array {
  const rows = input.layerInputs[layer];
  if (!rows || rows.length !== input.rows * D) {
    throw new Error(`batched decoder: no input of ${input.rows} rows for layer ${layer}`);
  }
  return rows;
}

/**
 * The block bias of each call; without key biases it depends only on the block count, so it is built once
 * per count (hidden-mode recomputes of hundreds of rows would otherwise rebuild it at every layer).
 */
function biasCache(ctx: DecoderLoopContext, offset: number, rows: number) {
  const plain = new Map<number, Float32Array>();
  const plainFor = (count: number): Float32Array => {
    let bias = plain.get(count);
    if (!bias) {
      const none = Array.from({ length: count }, () => ({ keyBias: undefined, from: 0 }));
      plain.set(count, (bias = blockAttentionBias(offset, rows, ctx.slidingWindow, none)));
    }
    return bias;
  };
  /** `heads`: the blocks' plans' head choice (one sweep's windows share it); null: every head. */
  return (blocks: readonly BlockKeyBias[], heads: readonly number[] | null): Float32Array => {
    if (!blocks.some((b) => b.keyBias)) return plainFor(blocks.length);
    const biased = blockAttentionBias(offset, rows, ctx.slidingWindow, blocks);
    return heads ? perHeadBias(plainFor(blocks.length), biased, heads, ctx.shape.heads) : biased;
  };
}

function keyBiasAt(plan: InterventionPlan, layer: number): BlockKeyBias {
  return { keyBias: plan.keyBiases.get(layer), from: plan.keyBiasFromQuery, to: plan.keyBiasToQuery };
}

/** Rotary tables for up to `blocks` copies of the rows stacked, built once and cut to each call. */
function stackedRope(ctx: DecoderLoopContext, positions: RotaryPositions, blocks: number, rows: number) {
  const all = ctx.ropeTables(positions.map((stream) => Array.from({ length: blocks }, () => stream).flat()));
  const size = rows * ctx.shape.headDim;
  return (n: number) => ({ cos: all.cos.subarray(0, n * size), sin: all.sin.subarray(0, n * size) });
}

/** The parts laid end to end (the part itself when there is one). */
function stack(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
