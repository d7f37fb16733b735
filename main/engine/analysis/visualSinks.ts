/**
 * VAR, visual attention redistribution (Kang, Kim, Kim, Hwang, "See What You Are Told: Visual Attention
 * Sink in Large Multimodal Models", ICLR 2025, arXiv 2503.03321): the arithmetic on plain arrays.
 *
 *   sink dimensions  the few hidden dimensions in which the first token (BOS) carries a massive
 *                    activation; the paper fixes them per backbone (LLaMA-2-7B: {1415, 2533}). Here,
 *                    unless given, they are the dimensions where the first text token's RMS-normalised
 *                    state exceeds τ at the layer's input, read per layer (massiveDimensions).
 *   sink tokens      at layer l, the positions j with φ(x_j) = max over the sink dimensions d of
 *                    |x_j[d]| / √(mean(x_j²) + 1e-6) > τ — RMSNorm without its learned weight, on the
 *                    residual stream at the layer's input, strict '>', as the authors' detector.
 *   image-centric    a head whose attention from the query gives the image at least `minImageAttention`
 *   heads            in total and whose image attention is at least a share ρ on non-sink image tokens;
 *                    a layer without image sink tokens has none.
 *   redistribution   in those heads every sink token (image or text, e.g. BOS) keeps a share p of its
 *                    weight; the (1 − p)·S freed (S: the sinks' total weight) goes to the non-sink image
 *                    tokens in proportion to their weights (I: their total):
 *                      w'_sink = p·w_sink,   w'_img = w_img·(1 + (1 − p)·S / I),   others unchanged,
 *                    which keeps the row's sum at 1. It is therefore exactly an additive pre-softmax
 *                    bias: log p on sinks, log(1 + (1 − p)·S / I) on non-sink image keys, 0 elsewhere
 *                    (softmax(z + b) ∝ w·eᵇ, and Σ w·eᵇ = 1 leaves the normaliser unchanged).
 *
 * Defaults (VAR_DEFAULTS): τ = 20, ρ = 0.5, minImageAttention = 0.2, p = 0.6, acting at layers 2 … L−2.
 * τ = 20 and the 0.2 image floor are the paper's (as reviews of it quote them; its own text was not
 * available to us); ρ, p and the layers are the authors' code (MICV-yonsei/VisAttnSink,
 * src/logic/logic.py: `activate(tau=20, rho=0.5, summ=0.2, p=0.6, except_last_layer=True)`, sink
 * layers `[2:]`), read in public forks of that repository (the original was not available either).
 * That code keeps `p` of the sink weight and moves `1 − p`, so p = 0.6 moves 40 %; it selects heads by
 * "sink share of the image attention ≤ ρ", i.e. a non-sink share ≥ 1 − ρ, the same 0.5 at ρ = 0.5
 * (here ρ is the paper's non-sink ratio). It adds 1e-6 per image token to that share's denominator;
 * here the share is exact (a head with no image attention is never chosen). Reading the sink
 * dimensions per layer off the first token, rather than from a per-backbone table, is ours: it needs no
 * table for a new model, and a layer where the first token has no massive activation yet gets no sinks.
 */

/** The VAR hyper-parameters (see the module comment for what each means and where it comes from). */
export interface VarSettings {
  /** τ: a token is a sink when its RMS-normalised state exceeds τ in a sink dimension. */
  readonly tau: number;
  /** ρ: an image-centric head puts at least this share of its image attention on non-sink tokens. */
  readonly rho: number;
  /** An image-centric head gives the image at least this much attention in total. */
  readonly minImageAttention: number;
  /** p: the share of its weight a sink token keeps; the rest goes to the non-sink image tokens. */
  readonly p: number;
}

export const VAR_DEFAULTS: VarSettings = { tau: 20, rho: 0.5, minImageAttention: 0.2, p: 0.6 };

/** The authors' RMSNorm epsilon for sink detection (independent of the model's own). */
const SINK_EPS = 1e-6;

/** 1 / √(mean(x²) + ε) of one row. */
function inverseRms(hidden: ArrayLike<number>, from: number, D: number): number {
  let sum = 0;
  for (let d = 0; d < D; d++) sum += hidden[from + d] ** 2;
  return 1 / Math.sqrt(sum / D + SINK_EPS);
}

/**
 * The largest value an RMS-normalised entry can take in a `D`-wide state: |x_d| ≤ ‖x‖ = √D·rms(x),
 * so no dimension exceeds τ when τ ≥ √D (a narrow model has no sink dimensions at the paper's τ).
 */
export function sinkBound(D: number): number {
  return Math.sqrt(D);
}

/** The dimensions in which `state` (one token's residual stream) exceeds τ once RMS-normalised, ascending. */
export function massiveDimensions(state: ArrayLike<number>, tau: number): number[] {
  const inv = inverseRms(state, 0, state.length);
  const dims: number[] = [];
  for (let d = 0; d < state.length; d++) if (Math.abs(state[d]) * inv > tau) dims.push(d);
  return dims;
}

/** The largest RMS-normalised |value| of `state` (what massiveDimensions compares with τ). */
export function largestNormalized(state: ArrayLike<number>): number {
  const inv = inverseRms(state, 0, state.length);
  let best = 0;
  for (let d = 0; d < state.length; d++) best = Math.max(best, Math.abs(state[d]) * inv);
  return best;
}

/**
 * The rows of `hidden` ([rows, D], the residual stream at a layer's input) that are sink tokens: φ
 * over `dims` above τ. Row indexes, ascending; none when `dims` is empty.
 */
export function sinkRows(
  hidden: ArrayLike<number>,
  D: number,
  dims: readonly number[],
  tau: number,
): number[] {
  if (dims.length === 0) return [];
  const rows = hidden.length / D;
  const sinks: number[] = [];
  for (let r = 0; r < rows; r++) {
    const inv = inverseRms(hidden, r * D, D);
    if (dims.some((d) => Math.abs(hidden[r * D + d]) * inv > tau)) sinks.push(r);
  }
  return sinks;
}

export interface Redistribution {
  /** Per head, the additive bias over the keys, [heads, keys] (zero rows for heads left alone). */
  readonly bias: Float32Array;
  /** The image-centric heads, ascending (the rows of `bias` that are not zero). */
  readonly heads: readonly number[];
}

/**
 * VAR for one query row: from its attention probabilities `probs` ([heads, keys], as the layer
 * computes them in this pass), the sink key positions and the image span [start, end), the bias that
 * redistributes each image-centric head's attention. null when no head qualifies (no image sink token,
 * or every head too little on the image or too much on its sinks): the layer is then left as it is.
 */
export function redistributionBias(
  probs: ArrayLike<number>,
  heads: number,
  sinks: readonly number[],
  imageSpan: readonly [number, number],
  settings: VarSettings,
): Redistribution | null {
  const [start, end] = imageSpan;
  const keys = probs.length / heads;
  const isSink = new Uint8Array(keys);
  for (const k of sinks) if (k >= 0 && k < keys) isSink[k] = 1;
  let imageSinks = 0;
  for (let k = start; k < end; k++) imageSinks += isSink[k];
  if (imageSinks === 0) return null;
  const bias = new Float32Array(heads * keys);
  const chosen: number[] = [];
  const sinkBias = Math.log(settings.p);
  for (let h = 0; h < heads; h++) {
    const row = h * keys;
    let image = 0;
    let imageSink = 0;
    let sink = 0;
    for (let k = 0; k < keys; k++) {
      const w = probs[row + k];
      if (isSink[k]) sink += w;
      if (k >= start && k < end) {
        image += w;
        if (isSink[k]) imageSink += w;
      }
    }
    const nonSinkImage = image - imageSink;
    if (!(image > 0 && image >= settings.minImageAttention && nonSinkImage / image >= settings.rho)) continue;
    if (!(nonSinkImage > 0)) continue;
    chosen.push(h);
    const imageBias = Math.log1p(((1 - settings.p) * sink) / nonSinkImage);
    for (let k = 0; k < keys; k++) {
      if (isSink[k]) bias[row + k] = sinkBias;
      else if (k >= start && k < end) bias[row + k] = imageBias;
    }
  }
  return chosen.length ? { bias, heads: chosen } : null;
}
