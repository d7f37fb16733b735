/**
 * VAR at the answer position (the method, its settings and their sources: analysis/visualSinks.ts):
 * one pass over the prompt in which, at each layer VAR acts at, the last prompt position's attention
 * is redistributed in its image-centric heads, then greedy decoding from there.
 *
 *   layer l:  prompt rows ──[layer l, plain causal bias]──▶ rows' outputs, K/V, and the answer row's
 *                 │                                          attention as this pass computes it
 *                 ├─ sinks from the rows' input states, heads and bias from that attention
 *                 └─ answer row ──[layer l, its K/V cache, bias + redistribution]──▶ its output
 *
 * Why a layer loop of its own rather than runDecoder with an intervention plan: the bias at layer l is
 * a function of the answer row's attention at layer l *in this pass* (the redistribution at earlier
 * layers has already changed that row's residual stream), so it cannot be compiled before the pass.
 * The whole-prompt call is both the prefill and the probe; the biased call reruns only the answer row,
 * on the same keys and values (its own key and value come from its input, which the bias does not
 * change). The cost over a plain prefill: one single-row layer call per layer where VAR acts.
 *
 * VAR acts at the last prompt position only, where the answer is read: later tokens, when more than
 * one is generated, attend as usual (the paper redistributes at every generated token).
 */
import { FusionError } from '../../common/errors.ts';
import type { VarFacts } from '../../common/analysis.ts';
import {
  largestNormalized,
  massiveDimensions,
  redistributionBias,
  sinkBound,
  sinkRows,
  type VarSettings,
} from '../analysis/visualSinks.ts';
import { attentionBias, pastFor, runLayer, sliceKV, type LayerKV } from '../inference/decoder.ts';
import {
  decoderContext,
  embedSample,
  logitsFor,
  planFor,
  type PreparedSample,
} from '../inference/forward.ts';
import { prefilledState, type PrefilledState } from '../inference/generate.ts';
import { rowPositions } from '../inference/positions.ts';
import type { LoadedModel } from '../model/openModel.ts';

export interface VarConfig extends VarSettings {
  /** The sink dimensions; omitted: per layer, those where the first text token's state is massive. */
  readonly sinkDims?: readonly number[];
  /** The layers VAR acts at; omitted: defaultVarLayers. */
  readonly layers?: readonly number[];
}

/** Every layer but the first two and the last (the authors' code: sink layers `[2:]`, except the last). */
export function defaultVarLayers(layerCount: number): number[] {
  return Array.from({ length: Math.max(0, layerCount - 3) }, (_, i) => i + 2);
}

/** What VAR found and did at one layer it acts at. */
export interface VarLayer {
  readonly layer: number;
  readonly sinkDims: readonly number[];
  /** Sink positions (absolute), image and text. */
  readonly sinks: readonly number[];
  /** Image-centric heads whose attention was redistributed (none: the layer ran as it is). */
  readonly heads: readonly number[];
}

export type VarPrefill =
  | { readonly applicable: false; readonly reason: string }
  | {
      readonly applicable: true;
      /** The prompt's state after the pass, for decodeGreedy. */
      readonly state: PrefilledState;
      readonly layers: readonly VarLayer[];
      /** Per decoder layer: the answer row's attention [heads, 1, prompt length] as used. */
      readonly attention: readonly Float32Array[];
      /** Per decoder layer: the answer row's residual stream after the layer. */
      readonly hidden: readonly Float32Array[];
    };

/**
 * Why VAR cannot apply to a model with these settings before anything runs, or null: no layer to act
 * at, or τ out of reach (an RMS-normalised entry never exceeds √D).
 */
export function varNotApplicable(
  config: VarConfig,
  shape: { readonly layers: number; readonly hiddenSize: number },
): string | null {
  const layers = config.layers ?? defaultVarLayers(shape.layers);
  if (layers.length === 0) {
    return `a ${shape.layers}-layer decoder has no layer between the first two and the last to act at`;
  }
  const bound = sinkBound(shape.hiddenSize);
  if (config.tau >= bound) {
    return `no token can exceed τ = ${config.tau} after RMS normalisation in a ${shape.hiddenSize}-wide decoder (at most √${shape.hiddenSize} = ${bound.toFixed(1)}), so there are no sink tokens`;
  }
  return null;
}

function checkVarConfig(config: VarConfig, shape: { layers: number; hiddenSize: number }): void {
  for (const d of config.sinkDims ?? []) {
    if (!Number.isInteger(d) || d < 0 || d >= shape.hiddenSize) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `VAR sink dimension ${d} is outside the decoder's hidden dimensions 0..${shape.hiddenSize - 1}`,
      );
    }
  }
  for (const l of config.layers ?? []) {
    if (!Number.isInteger(l) || l < 0 || l >= shape.layers) {
      throw new FusionError(
        'BAD_ARGUMENT',
        `VAR layer ${l} is outside the decoder's layers 0..${shape.layers - 1}`,
      );
    }
  }
}

/** The first position outside every image span: the token whose massive dimensions define the sinks. */
function firstTextPosition(sample: PreparedSample): number {
  let position = 0;
  for (const [start, end] of [...sample.imageTokenSpans].sort((a, b) => a[0] - b[0])) {
    if (position >= start && position < end) position = end;
  }
  return position;
}

/** [heads, keys]: the row's plain bias under each head's redistribution bias. */
function perHeadRowBias(plain: Float32Array, redistribution: Float32Array, heads: number): Float32Array {
  const out = new Float32Array(heads * plain.length);
  for (let h = 0; h < heads; h++) {
    for (let k = 0; k < plain.length; k++)
      out[h * plain.length + k] = plain[k] + redistribution[h * plain.length + k];
  }
  return out;
}

/** The prompt through the decoder with VAR at its last position (see the module comment). */
export async function varPrefill(
  model: LoadedModel,
  sample: PreparedSample,
  config: VarConfig,
  signal?: AbortSignal,
): Promise<VarPrefill> {
  const ctx = decoderContext(model);
  const { shape } = ctx;
  const { hiddenSize: D, heads } = shape;
  checkVarConfig(config, shape);
  const notApplicable = varNotApplicable(config, shape);
  if (notApplicable) return { applicable: false, reason: notApplicable };
  const acting = new Set(config.layers ?? defaultVarLayers(shape.layers));
  const length = sample.expandedIds.length;
  const last = length - 1;
  const first = firstTextPosition(sample);
  if (first >= length)
    return { applicable: false, reason: 'the prompt has no text token to read sink dimensions from' };

  const rope = ctx.ropeTables(sample.positions.streams);
  const lastRope = ctx.ropeTables(rowPositions(sample.positions, last, 1));
  const plain = attentionBias(0, length, ctx.slidingWindow);
  const lastPlain = attentionBias(last, 1, ctx.slidingWindow);
  const noPast = pastFor(undefined, 0, shape);
  const readLast = BigInt64Array.of(BigInt(last));

  let hidden = await embedSample(model, sample);
  const present: LayerKV[] = [];
  const attention: Float32Array[] = [];
  const lastHidden: Float32Array[] = [];
  const layers: VarLayer[] = [];
  let largest = 0;
  for (let layer = 0; layer < shape.layers; layer++) {
    if (signal?.aborted) throw signal.reason;
    const whole = await runLayer(ctx, layer, { hidden, rope, past: noPast, bias: plain, readout: readLast });
    present[layer] = whole.present;
    let out = whole.hidden;
    let probs = whole.attention;
    if (acting.has(layer)) {
      const firstState = hidden.subarray(first * D, (first + 1) * D);
      largest = Math.max(largest, largestNormalized(firstState));
      const sinkDims = config.sinkDims ?? massiveDimensions(firstState, config.tau);
      const sinks = sinkRows(hidden, D, sinkDims, config.tau);
      const redistribution = redistributionBias(whole.attention, heads, sinks, sample.imageTokenSpan, config);
      layers.push({ layer, sinkDims, sinks, heads: redistribution?.heads ?? [] });
      if (redistribution) {
        const answer = await runLayer(ctx, layer, {
          hidden: hidden.slice(last * D, length * D),
          rope: lastRope,
          past: sliceKV(whole.present, last, shape),
          bias: perHeadRowBias(lastPlain, redistribution.bias, heads),
          readout: BigInt64Array.of(0n),
        });
        out = Float32Array.from(whole.hidden);
        out.set(answer.hidden, last * D);
        probs = answer.attention;
      }
    }
    attention[layer] = probs;
    lastHidden[layer] = out.slice(last * D, length * D);
    hidden = out;
  }
  if (config.sinkDims === undefined && layers.every((l) => l.sinkDims.length === 0)) {
    return {
      applicable: false,
      reason: `the first token's RMS-normalised state exceeds τ = ${config.tau} in no dimension at the layers VAR acts at (largest ${largest.toFixed(1)}), so there are no sink dimensions`,
    };
  }
  const lastLogits = await logitsFor(model, hidden, [last]);
  return {
    applicable: true,
    state: prefilledState(sample, lastLogits, present, planFor(model, sample)),
    layers,
    attention,
    hidden: lastHidden,
  };
}

/** What a run records of one sample's VAR pass. */
export function varFacts(layers: readonly VarLayer[], imageSpan: readonly [number, number]): VarFacts {
  const [start, end] = imageSpan;
  const dims = new Set(layers.flatMap((l) => l.sinkDims));
  return {
    sinkDims: [...dims].sort((a, b) => a - b),
    layers: layers.filter((l) => l.heads.length > 0).length,
    heads: layers.reduce((n, l) => n + l.heads.length, 0),
    imageSinks: layers.reduce((m, l) => Math.max(m, l.sinks.filter((s) => s >= start && s < end).length), 0),
  };
}
