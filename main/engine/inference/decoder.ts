/**
 * The decoder loop: runs the per-layer graphs over a block of consecutive positions, starting at any
 * layer, with cached keys/values for the positions before the block. Interventions are applied here:
 * `hidden` edits scale residual-stream rows between layers, or replace them by another image's;
 * `knockout` and `attention` become entries of the additive attention bias (−∞, log λ). Because the loop can start mid-stack and mid-sequence, a masking sweep
 * recomputes only what an intervention can change (see docs/ARCHITECTURE.md).
 */
import { LAYER_IO, type DecoderShape } from '../../../native-models/architectures/contract.ts';
import type { RotaryPositions } from '../../../native-models/architectures/types.ts';
import type { Session } from '../runtime/session.ts';
import { FusionError } from '../../common/errors.ts';
import type { HiddenEdit, InterventionPlan } from './interventionPlan.ts';

/** Keys and values of one layer for positions 0..length-1, laid out [kvHeads, length, headDim]. */
export interface LayerKV {
  readonly key: Float32Array;
  readonly value: Float32Array;
  readonly length: number;
}

export interface DecoderPassInput {
  /** First layer to run; layers below it are not touched. */
  readonly startLayer: number;
  /** Residual stream at the input of `startLayer`, rows for positions offset..offset+rows-1, [rows, D]. */
  readonly hidden: Float32Array;
  /** Absolute position of the first row; keys/values of earlier positions come from `past`. */
  readonly offset: number;
  /** Rotary positions of the rows, per stream (default one stream, offset..offset+rows-1). */
  readonly ropePositions?: RotaryPositions;
  /**
   * Per layer (indexed by layer): cache covering at least positions 0..offset-1. A `ConsumedPast` is
   * emptied layer by layer as the pass goes, so a decoding step never holds the old and the new cache
   * of every layer at once.
   */
  readonly past: readonly (LayerKV | undefined)[] | ConsumedPast;
  readonly plan: InterventionPlan;
  /** Rows (0-based within the block) whose attention probabilities to return. */
  readonly readoutRows: readonly number[];
  /** Keep the residual stream at each layer's input for every row (for later partial recomputes). */
  readonly keepLayerInputs?: boolean;
  readonly signal?: AbortSignal;
}

export interface DecoderPassOutput {
  /** Residual stream after the last layer, [rows, D] (before the final norm). */
  readonly hidden: Float32Array;
  /** Per layer ≥ startLayer: cache for positions 0..offset+rows-1. */
  readonly present: (LayerKV | undefined)[];
  /** Per layer ≥ startLayer: probabilities [heads, readoutRows, offset+rows]. */
  readonly attention: (Float32Array | undefined)[];
  /** Per layer ≥ startLayer: the last row's residual stream after the layer, [D]. */
  readonly lastHidden: (Float32Array | undefined)[];
  /** Per layer ≥ startLayer (when keepLayerInputs): residual stream at the layer's input, [rows, D]. */
  readonly layerInputs: (Float32Array | undefined)[];
}

/** A cache the pass may drop each layer of once that layer has run (the caller keeps no other reference). */
export class ConsumedPast {
  constructor(private readonly layers: (LayerKV | undefined)[]) {}

  take(layer: number): LayerKV | undefined {
    const kv = this.layers[layer];
    this.layers[layer] = undefined;
    return kv;
  }
}

export interface DecoderLoopContext {
  readonly shape: DecoderShape;
  readonly layers: readonly Session[];
  readonly slidingWindow: number | undefined;
  ropeTables(streams: RotaryPositions): { cos: Float32Array; sin: Float32Array };
}

export async function runDecoder(
  ctx: DecoderLoopContext,
  input: DecoderPassInput,
): Promise<DecoderPassOutput> {
  const { shape } = ctx;
  const D = shape.hiddenSize;
  const rows = input.hidden.length / D;
  const positions = input.ropePositions ?? [Array.from({ length: rows }, (_, i) => input.offset + i)];
  const rope = ctx.ropeTables(positions);
  const readout = BigInt64Array.from(input.readoutRows.map((r) => BigInt(r)));
  const plainBias = attentionBias(input.offset, rows, ctx.slidingWindow);

  const out: DecoderPassOutput = {
    hidden: input.hidden,
    present: [],
    attention: [],
    lastHidden: [],
    layerInputs: [],
  };
  let hidden: Float32Array = Float32Array.from(input.hidden);
  for (let layer = input.startLayer; layer < shape.layers; layer++) {
    if (input.signal?.aborted) throw input.signal.reason;
    applyHiddenEdits(hidden, input.plan.hiddenEdits.get(layer), input.offset, D);
    if (input.keepLayerInputs) out.layerInputs[layer] = Float32Array.from(hidden);
    const keyBias = input.plan.keyBiases.get(layer);
    const biased = keyBias
      ? attentionBias(input.offset, rows, ctx.slidingWindow, {
          keyBias,
          from: input.plan.keyBiasFromQuery,
          to: input.plan.keyBiasToQuery,
        })
      : plainBias;
    const heads = input.plan.keyBiasHeads;
    const bias = keyBias && heads ? perHeadBias(plainBias, biased, heads, shape.heads) : biased;
    const result = await runLayer(ctx, layer, {
      hidden,
      rope,
      past: pastFor(
        input.past instanceof ConsumedPast ? input.past.take(layer) : input.past[layer],
        input.offset,
        shape,
      ),
      bias,
      readout,
    });
    hidden = result.hidden;
    out.present[layer] = result.present;
    out.attention[layer] = result.attention;
    out.lastHidden[layer] = hidden.slice((rows - 1) * D, rows * D);
  }
  return { ...out, hidden };
}

/** The inputs of one layer graph: `rows` query rows after the `past.length` cached positions. */
export interface LayerCall {
  /** Residual stream at the layer's input, [rows, D]. */
  readonly hidden: Float32Array;
  /** Rotary tables of the rows, [rows, headDim]. */
  readonly rope: { readonly cos: Float32Array; readonly sin: Float32Array };
  /** Exactly the positions the rows follow. */
  readonly past: LayerKV;
  /** Additive attention bias [rows, past.length + rows], or one per head [heads, rows, …]. */
  readonly bias: Float32Array;
  /** Rows (within this call) whose attention probabilities to return. */
  readonly readout: BigInt64Array;
}

export interface LayerResult {
  /** Residual stream after the layer, [rows, D]. */
  readonly hidden: Float32Array;
  /** `past` followed by the rows' keys/values. */
  readonly present: LayerKV;
  /** Probabilities [heads, readout, past.length + rows]. */
  readonly attention: Float32Array;
}

/** Runs one layer graph: the feeds, the run and the unpacking every decoder loop shares. */
export async function runLayer(
  ctx: DecoderLoopContext,
  layer: number,
  call: LayerCall,
): Promise<LayerResult> {
  const { hiddenSize: D, kvHeads, headDim } = ctx.shape;
  const rows = call.hidden.length / D;
  const cached = call.past.length;
  const total = cached + rows;
  const result = await ctx.layers[layer].run({
    [LAYER_IO.hidden]: { data: call.hidden, dims: [1, rows, D] },
    [LAYER_IO.ropeCos]: { data: call.rope.cos, dims: [rows, headDim] },
    [LAYER_IO.ropeSin]: { data: call.rope.sin, dims: [rows, headDim] },
    [LAYER_IO.pastKey]: { data: call.past.key, dims: [1, kvHeads, cached, headDim] },
    [LAYER_IO.pastValue]: { data: call.past.value, dims: [1, kvHeads, cached, headDim] },
    // One bias for every head, or one per head (call.bias then holds `heads` of them).
    [LAYER_IO.bias]: { data: call.bias, dims: [1, call.bias.length / (rows * total), rows, total] },
    [LAYER_IO.readoutRows]: { data: call.readout, dims: [call.readout.length] },
  });
  return {
    hidden: result[LAYER_IO.hiddenOut].data,
    present: {
      key: result[LAYER_IO.presentKey].data,
      value: result[LAYER_IO.presentValue].data,
      length: total,
    },
    attention: result[LAYER_IO.probs].data,
  };
}

/** Applies a layer's residual-stream edits, in order, to the rows of a block starting at `offset`. */
export function applyHiddenEdits(
  hidden: Float32Array,
  edits: readonly HiddenEdit[] | undefined,
  offset: number,
  D: number,
): void {
  if (!edits) return;
  const rows = hidden.length / D;
  for (const edit of edits) {
    const inBlock = edit.positions.flatMap((position, i) => {
      const row = position - offset;
      return row >= 0 && row < rows ? [[row, i] as const] : [];
    });
    if ('rows' in edit) {
      if (edit.rows.length !== edit.positions.length * D) {
        throw new FusionError(
          'BAD_ARGUMENT',
          `hidden replacement rows hold ${edit.rows.length} values for ${edit.positions.length} positions; the model's hidden size is ${D}`,
        );
      }
      for (const [row, i] of inBlock) hidden.set(edit.rows.subarray(i * D, (i + 1) * D), row * D);
    } else {
      for (const [row] of inBlock) for (let j = row * D; j < (row + 1) * D; j++) hidden[j] *= edit.scale;
    }
  }
}

/**
 * Additive bias [rows, offset+rows]: 0 where attention is allowed, −∞ where it is not (future keys,
 * keys outside a sliding window), and each `keyBias` entry's value for queries at or after `from`.
 * −∞ makes softmax give exactly zero weight, so knockout equals deleting those keys; log λ multiplies
 * the key's unnormalised weight by λ.
 */
export function attentionBias(
  offset: number,
  rows: number,
  slidingWindow: number | undefined,
  keyBias: BlockKeyBias = NO_KEY_BIAS,
): Float32Array {
  return blockAttentionBias(offset, rows, slidingWindow, [keyBias]);
}

/**
 * A bias per head, [headCount, rows, width]: `biased` for the chosen heads, `plain` for the others
 * (a knockout of some heads only).
 */
export function perHeadBias(
  plain: Float32Array,
  biased: Float32Array,
  heads: readonly number[],
  headCount: number,
): Float32Array {
  const chosen = new Set(heads);
  const out = new Float32Array(headCount * plain.length);
  for (let h = 0; h < headCount; h++) out.set(chosen.has(h) ? biased : plain, h * plain.length);
  return out;
}

/** One block's key biases (key position → added logit) for queries in [from, to) (to: default ∞). */
export interface BlockKeyBias {
  readonly keyBias: ReadonlyMap<number, number> | undefined;
  readonly from: number;
  readonly to?: number;
}

export const NO_KEY_BIAS: BlockKeyBias = { keyBias: undefined, from: Number.MAX_SAFE_INTEGER };

/**
 * The bias of several blocks stacked along the rows, [blocks·rows, offset + blocks·rows]: every block
 * is positions offset..offset+rows−1 again, after the same `offset` cached positions (the first
 * columns). Each block attends to those and causally to its own columns as `attentionBias` would on
 * its own, and never to another block's, so one layer call computes every block as if run alone.
 */
export function blockAttentionBias(
  offset: number,
  rows: number,
  slidingWindow: number | undefined,
  blocks: readonly BlockKeyBias[],
): Float32Array {
  const width = offset + blocks.length * rows;
  const bias = new Float32Array(blocks.length * rows * width).fill(-Infinity);
  blocks.forEach(({ keyBias, from: biasFrom, to: biasTo = Number.MAX_SAFE_INTEGER }, b) => {
    // Column of key position k for this block: the shared cached positions, then its own rows.
    const column = (k: number) => (k < offset ? k : k + b * rows);
    for (let r = 0; r < rows; r++) {
      const q = offset + r;
      const rowStart = (b * rows + r) * width;
      // transformers masks keys with k <= q - sliding_window.
      const from = slidingWindow === undefined ? 0 : Math.max(0, q - slidingWindow + 1);
      for (let k = from; k <= q; k++) bias[rowStart + column(k)] = 0;
      if (keyBias && q >= biasFrom && q < biasTo) {
        for (const [k, added] of keyBias) {
          // Only keys the query sees at all: a bias never reopens a masked one.
          if (k <= q && k >= from) bias[rowStart + column(k)] += added;
        }
      }
    }
  });
  return bias;
}

/** The first `length` positions of a cache, as contiguous [kvHeads, length, headDim]. */
export function sliceKV(kv: LayerKV, length: number, shape: DecoderShape): LayerKV {
  if (length === kv.length) return kv;
  return gatherKV([[kv, 0, length]], shape);
}

/** Runs of positions [from, to) of caches, laid end to end per kv head: [kvHeads, Σ(to − from), headDim]. */
export function gatherKV(
  runs: readonly (readonly [kv: LayerKV, from: number, to: number])[],
  shape: DecoderShape,
): LayerKV {
  const { kvHeads, headDim } = shape;
  const length = runs.reduce((sum, [, from, to]) => sum + to - from, 0);
  const key = new Float32Array(kvHeads * length * headDim);
  const value = new Float32Array(kvHeads * length * headDim);
  for (let h = 0; h < kvHeads; h++) {
    let at = h * length * headDim;
    for (const [kv, from, to] of runs) {
      const start = (h * kv.length + from) * headDim;
      const end = (h * kv.length + to) * headDim;
      key.set(kv.key.subarray(start, end), at);
      value.set(kv.value.subarray(start, end), at);
      at += end - start;
    }
  }
  return { key, value, length };
}

/** The cache of the `offset` positions before a block, checked to cover them. */
export function pastFor(kv: LayerKV | undefined, offset: number, shape: DecoderShape): LayerKV {
  if (offset === 0) return { key: new Float32Array(0), value: new Float32Array(0), length: 0 };
  return sliceKV(coveringCache(kv, offset), offset, shape);
}

/** `kv` itself, once checked to hold at least the first `offset` positions. */
export function coveringCache(kv: LayerKV | undefined, offset: number): LayerKV {
  if (!kv || kv.length < offset) {
    throw new Error(`decoder: a cache of ${offset} positions is needed, got ${kv?.length ?? 'none'}`);
  }
  return kv;
}
