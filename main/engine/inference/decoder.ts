/**
 * The decoder loop: runs the per-layer graphs over a block of consecutive positions, starting at any
 * layer, with cached keys/values for the positions before the block. Interventions are applied here:
 * `hidden` edits scale residual-stream rows between layers; `knockout` becomes −∞ entries of the
 * additive attention bias. Because the loop can start mid-stack and mid-sequence, a masking sweep
 * recomputes only what an intervention can change (see docs/ARCHITECTURE.md).
 */
import { LAYER_IO, type DecoderShape } from '../../../native-models/architectures/contract.ts';
import type { RotaryPositions } from '../../../native-models/architectures/types.ts';
import type { Session } from '../runtime/session.ts';
import type { InterventionPlan } from './interventionPlan.ts';

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
  /** Per layer (indexed by layer): cache covering at least positions 0..offset-1. */
  readonly past: readonly (LayerKV | undefined)[];
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
  const total = input.offset + rows;
  const positions = input.ropePositions ?? [Array.from({ length: rows }, (_, i) => input.offset + i)];
  const { cos, sin } = ctx.ropeTables(positions);
  const readout = BigInt64Array.from(input.readoutRows.map((r) => BigInt(r)));
  const plainBias = attentionBias(input.offset, rows, ctx.slidingWindow, undefined, 0);

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
    const knocked = input.plan.knockoutKeys.get(layer);
    const bias = knocked
      ? attentionBias(input.offset, rows, ctx.slidingWindow, knocked, input.plan.knockoutFromQuery)
      : plainBias;
    const past = pastFor(input.past[layer], input.offset, shape);
    const result = await ctx.layers[layer].run({
      [LAYER_IO.hidden]: { data: hidden, dims: [1, rows, D] },
      [LAYER_IO.ropeCos]: { data: cos, dims: [rows, shape.headDim] },
      [LAYER_IO.ropeSin]: { data: sin, dims: [rows, shape.headDim] },
      [LAYER_IO.pastKey]: { data: past.key, dims: [1, shape.kvHeads, input.offset, shape.headDim] },
      [LAYER_IO.pastValue]: { data: past.value, dims: [1, shape.kvHeads, input.offset, shape.headDim] },
      [LAYER_IO.bias]: { data: bias, dims: [1, 1, rows, total] },
      [LAYER_IO.readoutRows]: { data: readout, dims: [readout.length] },
    });
    hidden = result[LAYER_IO.hiddenOut].data;
    out.present[layer] = {
      key: result[LAYER_IO.presentKey].data,
      value: result[LAYER_IO.presentValue].data,
      length: total,
    };
    out.attention[layer] = result[LAYER_IO.probs].data;
    out.lastHidden[layer] = hidden.slice((rows - 1) * D, rows * D);
  }
  return { ...out, hidden };
}

function applyHiddenEdits(
  hidden: Float32Array,
  edits: readonly { positions: readonly number[]; scale: number }[] | undefined,
  offset: number,
  D: number,
): void {
  if (!edits) return;
  const rows = hidden.length / D;
  for (const edit of edits) {
    for (const position of edit.positions) {
      const row = position - offset;
      if (row < 0 || row >= rows) continue;
      for (let j = row * D; j < (row + 1) * D; j++) hidden[j] *= edit.scale;
    }
  }
}

/**
 * Additive bias [rows, offset+rows]: 0 where attention is allowed, −∞ where it is not (future keys,
 * keys outside a sliding window, knocked-out keys for queries at or after `knockFrom`). −∞ makes
 * softmax give exactly zero weight, so knockout equals deleting those keys.
 */
export function attentionBias(
  offset: number,
  rows: number,
  slidingWindow: number | undefined,
  knocked: ReadonlySet<number> | undefined,
  knockFrom: number,
): Float32Array {
  const total = offset + rows;
  const bias = new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) {
    const q = offset + r;
    const rowStart = r * total;
    for (let k = q + 1; k < total; k++) bias[rowStart + k] = -Infinity;
    if (slidingWindow !== undefined) {
      // transformers masks keys with k <= q - sliding_window.
      for (let k = 0; k <= q - slidingWindow; k++) bias[rowStart + k] = -Infinity;
    }
    if (knocked && q >= knockFrom) {
      for (const k of knocked) if (k < total && k <= q) bias[rowStart + k] = -Infinity;
    }
  }
  return bias;
}

/** The first `length` positions of a cache, as contiguous [kvHeads, length, headDim]. */
export function sliceKV(kv: LayerKV, length: number, shape: DecoderShape): LayerKV {
  if (length === kv.length) return kv;
  const { kvHeads, headDim } = shape;
  const key = new Float32Array(kvHeads * length * headDim);
  const value = new Float32Array(kvHeads * length * headDim);
  for (let h = 0; h < kvHeads; h++) {
    const from = h * kv.length * headDim;
    key.set(kv.key.subarray(from, from + length * headDim), h * length * headDim);
    value.set(kv.value.subarray(from, from + length * headDim), h * length * headDim);
  }
  return { key, value, length };
}

function pastFor(kv: LayerKV | undefined, offset: number, shape: DecoderShape): LayerKV {
  if (offset === 0) return { key: new Float32Array(0), value: new Float32Array(0), length: 0 };
  if (!kv || kv.length < offset) {
    throw new Error(`decoder: a cache of ${offset} positions is needed, got ${kv?.length ?? 'none'}`);
  }
  return sliceKV(kv, offset, shape);
}
