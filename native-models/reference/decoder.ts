/**
 * LLaMA / Mistral decoder (transformers' LlamaModel + lm_head), with the interventions FusionScope
 * studies applied inside it.
 *
 *   for each layer l:  h ← edit_l(h)              (hidden: scale image rows, or replace them by given rows)
 *                      h ← h + o_proj(attn(rope(q), rope(k), v, mask_l)) on rms_norm(h)
 *                      h ← h + down(silu(gate(x)) · up(x)),  x = rms_norm(h)
 *   logits = lm_head(rms_norm(h))
 *
 *   attn: scores = q·k / √head_dim, causal (and Mistral's sliding window), knocked-out keys → −∞,
 *   softmax, then weighted keys' probabilities multiplied by their factor and renormalised (attention
 *   scaling); query head h reads kv head ⌊h / (heads / kv_heads)⌋ (repeat_kv).
 */
import type { TextConfig } from './config.ts';
import {
  activation,
  add,
  argmax,
  dot,
  linear,
  rmsNorm,
  rope,
  ropeInverseFrequencies,
  row,
  scale,
  softmax,
  type Matrix,
  type Vector,
} from './math.ts';
import type { Linear } from './vision.ts';
import { redistribute, sinkPositions, type RedistributeEdit } from './visualSinks.ts';

export interface DecoderLayerWeights {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  gate: Linear;
  up: Linear;
  down: Linear;
  inputLayerNorm: Vector;
  postAttentionLayerNorm: Vector;
}

export interface DecoderWeights {
  /** [vocab, hidden] */
  embedTokens: Matrix;
  layers: DecoderLayerWeights[];
  norm: Vector;
  /** [vocab, hidden]; the embedding matrix itself when tied. */
  lmHead: Matrix;
}

/** An edit applied inside one decoder layer. */
export type LayerEdit =
  /**
   * Keys hidden (−∞ before softmax) from every query at position in [fromQuery, toQuery), in the
   * listed heads (every head when none are listed).
   */
  | {
      kind: 'knockout';
      layer: number;
      keys: readonly number[];
      fromQuery: number;
      toQuery: number;
      heads?: readonly number[];
    }
  /** Residual-stream rows multiplied by factor at the input of the layer (before input_layernorm). */
  | { kind: 'scale'; layer: number; positions: readonly number[]; factor: number }
  /** Residual-stream rows replaced by `rows` (one per position, in order) at the input of the layer. */
  | { kind: 'replace'; layer: number; positions: readonly number[]; rows: readonly Vector[] }
  /**
   * Attention weights of `keys` multiplied by factor, then renormalised, for every query at position
   * in [fromQuery, toQuery), in the listed heads (every head when none are listed).
   */
  | {
      kind: 'weight';
      layer: number;
      keys: readonly number[];
      fromQuery: number;
      toQuery: number;
      factor: number;
      heads?: readonly number[];
    }
  /**
   * VAR: sink tokens read off the layer's input, then the query's probabilities redistributed after
   * softmax in its image-centric heads (visualSinks.ts).
   */
  | RedistributeEdit;

export interface DecoderOutput {
  logits: Vector[];
  /** [layer][head][readout row] → probabilities over all key positions. */
  attention: Vector[][][];
  /** [layer][position] residual stream after each layer (before the final norm). */
  hiddenStates: Vector[][];
}

/**
 * Rotary embedding of one head's query or key at sequence position `position`; the default is 1-D
 * RoPE at that position (Qwen2-VL's M-RoPE passes its own, see qwen2vl.ts).
 */
export type Rotary = (x: Vector, position: number) => Vector;

/** Every id must index the vocabulary. */
export function checkTokenIds(inputIds: readonly number[], vocabSize: number): void {
  if (inputIds.length === 0) throw new RangeError('inputIds is empty');
  for (const id of inputIds) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(`token id ${id} is outside the vocabulary (0 … ${vocabSize - 1})`);
    }
  }
}

/**
 * Greedy decoding, recomputing the whole sequence each step (`lastLogits` gives the logits at the
 * last position of `ids`); returns the new tokens, the eos token it stops on included.
 */
export function greedyDecode(
  inputIds: readonly number[],
  maxNewTokens: number,
  eos: readonly number[],
  lastLogits: (ids: number[]) => Vector,
): number[] {
  const ids = [...inputIds];
  const generated: number[] = [];
  for (let step = 0; step < maxNewTokens; step++) {
    const next = argmax(lastLogits(ids));
    generated.push(next);
    if (eos.includes(next)) break;
    ids.push(next);
  }
  return generated;
}

export function embed(weights: DecoderWeights, inputIds: readonly number[]): Vector[] {
  return inputIds.map((id) => Float64Array.from(row(weights.embedTokens, id)));
}

const apply = (x: Vector, l: Linear): Vector => linear(x, l.weight, l.bias);

/** Whether an edit acts on query `i`, key `j` in head `h`. */
function touches(
  e: { fromQuery: number; toQuery: number; keys: readonly number[]; heads?: readonly number[] },
  i: number,
  j: number,
  h: number,
): boolean {
  return i >= e.fromQuery && i < e.toQuery && e.keys.includes(j) && (!e.heads || e.heads.includes(h));
}

/** Which keys query `i` may see in head `h` at this layer: causal, sliding window, minus knocked-out keys. */
function visibility(config: TextConfig, edits: LayerEdit[]): (i: number, j: number, h: number) => boolean {
  const knockouts = edits.flatMap((e) => (e.kind === 'knockout' ? [e] : []));
  return (i, j, h) => {
    if (j > i) return false;
    if (config.slidingWindow !== null && i - j >= config.slidingWindow) return false;
    return !knockouts.some((e) => touches(e, i, j, h));
  };
}

/** The factor query `i`'s weight on key `j` in head `h` is multiplied by (1 when no edit weights it). */
function weighting(edits: LayerEdit[]): (i: number, j: number, h: number) => number {
  const weights = edits.flatMap((e) => (e.kind === 'weight' ? [e] : []));
  return (i, j, h) => weights.reduce((f, e) => (touches(e, i, j, h) ? f * e.factor : f), 1);
}

function attention(
  config: TextConfig,
  layer: DecoderLayerWeights,
  x: Vector[],
  visible: (i: number, j: number, h: number) => boolean,
  weight: (i: number, j: number, h: number) => number,
  readoutRows: readonly number[],
  rotary: Rotary,
  reweight: (i: number, p: Vector) => void = () => {},
): { out: Vector[]; probabilities: Vector[][] } {
  const { heads, kvHeads, headDim } = config;
  const headSlice = (t: Vector, h: number) => t.subarray(h * headDim, (h + 1) * headDim);
  const perHead = (t: Vector, count: number, position: number): Vector[] =>
    Array.from({ length: count }, (_, h) => rotary(headSlice(t, h), position));
  const q = x.map((t, i) => perHead(apply(t, layer.q), heads, i));
  const k = x.map((t, i) => perHead(apply(t, layer.k), kvHeads, i));
  const v = x.map((t) => apply(t, layer.v));
  const groupSize = heads / kvHeads;
  const wanted = new Set(readoutRows);
  const byRow = new Map<number, Vector[]>(); // query position → per-head probabilities

  const out = x.map((_, i) => {
    const mixed = new Float64Array(heads * headDim);
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / groupSize);
      const scores = Float64Array.from(x, (_, j) =>
        visible(i, j, h) ? dot(q[i][h], k[j][g]) / Math.sqrt(headDim) : -Infinity,
      );
      const p = softmax(scores);
      let total = 0;
      for (let j = 0; j < x.length; j++) total += p[j] *= weight(i, j, h);
      for (let j = 0; j < x.length; j++) p[j] /= total;
      reweight(i, p);
      for (let j = 0; j < x.length; j++) {
        if (p[j] === 0) continue;
        const vj = headSlice(v[j], g);
        for (let d = 0; d < headDim; d++) mixed[h * headDim + d] += p[j] * vj[d];
      }
      if (wanted.has(i)) byRow.set(i, [...(byRow.get(i) ?? []), p]);
    }
    return apply(mixed, layer.o);
  });
  const probabilities = Array.from({ length: heads }, (_, h) => readoutRows.map((r) => byRow.get(r)![h]));
  return { out, probabilities };
}

/** VAR's post-softmax redistribution of the query rows its edits name, with the sinks of this layer's input `h`. */
function redistribution(edits: LayerEdit[], h: readonly Vector[]): (i: number, p: Vector) => void {
  const withSinks = edits.flatMap((e) =>
    e.kind === 'redistribute' ? [{ e, sinks: sinkPositions(e, h) }] : [],
  );
  return (i, p) => {
    for (const { e, sinks } of withSinks) if (e.query === i) redistribute(e, sinks, p);
  };
}

function mlp(config: TextConfig, layer: DecoderLayerWeights, x: Vector): Vector {
  const act = activation(config.hiddenAct);
  const gate = apply(x, layer.gate);
  const up = apply(x, layer.up);
  return apply(
    gate.map((g, i) => act(g) * up[i]),
    layer.down,
  );
}

export function decoderForward(
  config: TextConfig,
  weights: DecoderWeights,
  embeddings: Vector[],
  edits: readonly LayerEdit[],
  readoutRows: readonly number[],
  rotary?: Rotary,
): DecoderOutput {
  const eps = config.rmsNormEps;
  const inverseFrequencies = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
  const rotate: Rotary = rotary ?? ((x, position) => rope(x, position, inverseFrequencies));
  let h: Vector[] = embeddings.map((t) => Float64Array.from(t));
  const attentionOut: Vector[][][] = [];
  const hiddenStates: Vector[][] = [];
  weights.layers.forEach((layer, l) => {
    const layerEdits = edits.filter((e) => e.layer === l);
    for (const edit of layerEdits) {
      // New arrays: the previous layer's hidden states were handed out as they are.
      if (edit.kind === 'scale') {
        h = h.map((t, i) => (edit.positions.includes(i) ? scale(t, edit.factor) : t));
      } else if (edit.kind === 'replace') {
        h = h.map((t, i) => {
          const k = edit.positions.indexOf(i);
          return k < 0 ? t : Float64Array.from(edit.rows[k]);
        });
      }
    }
    const normed = h.map((t) => rmsNorm(t, layer.inputLayerNorm, eps));
    const attended = attention(
      config,
      layer,
      normed,
      visibility(config, layerEdits),
      weighting(layerEdits),
      readoutRows,
      rotate,
      redistribution(layerEdits, h),
    );
    attentionOut.push(attended.probabilities);
    h = h.map((t, i) => add(t, attended.out[i]));
    h = h.map((t) => add(t, mlp(config, layer, rmsNorm(t, layer.postAttentionLayerNorm, eps))));
    hiddenStates.push(h);
  });
  const logits = h.map((t) => linear(rmsNorm(t, weights.norm, eps), weights.lmHead));
  return { logits, attention: attentionOut, hiddenStates };
}
