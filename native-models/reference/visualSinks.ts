/**
 * VAR (visual attention redistribution; Kang et al., "See What You Are Told", ICLR 2025) as the
 * reference applies it: after softmax, on the probabilities themselves, so that it checks the engine's
 * pre-softmax bias (main/engine/analysis/visualSinks.ts) without sharing its arithmetic.
 *
 *   φ(x)      = max over sink dimensions d of |RMSNorm(x)_d|   (unit weight, ε = 1e-6)
 *   sinks_l   = { j : φ(h_j) > τ }, h the residual stream at layer l's input
 *   dims_l    = given, or { d : |RMSNorm(h_first)_d| > τ } (the first text token's massive dimensions)
 *   head h is redistributed when some image token is a sink, A = Σ_image w ≥ minImage and
 *   (A − Σ_image∩sinks w) / A ≥ ρ; then  w_sink ← keep·w_sink,  Ω = (1 − keep)·Σ_sinks w,
 *   w_j ← w_j + Ω·w_j / Σ_{image∖sinks} w  for the image's non-sink tokens.
 */
import { rmsNorm, type Vector } from './math.ts';

/** What the caller asks for: VAR's settings, at the last position of the input unless `query` says. */
export interface ReferenceVar {
  tau: number;
  rho: number;
  minImage: number;
  /** p: the share of its weight a sink keeps. */
  keep: number;
  sinkDims?: readonly number[];
  /** Default: every layer but the first two and the last. */
  layers?: readonly number[];
  query?: number;
}

/** One layer's VAR edit (decoder.ts LayerEdit 'redistribute'). */
export interface RedistributeEdit {
  kind: 'redistribute';
  layer: number;
  query: number;
  imageSpan: readonly [number, number];
  /** Position whose massive dimensions are the sink dimensions when `sinkDims` is not given. */
  firstToken: number;
  sinkDims?: readonly number[];
  tau: number;
  rho: number;
  minImage: number;
  keep: number;
}

const EPS = 1e-6;

function normalizedAbs(x: Vector): Vector {
  return rmsNorm(x, new Float64Array(x.length).fill(1), EPS).map(Math.abs);
}

/** The edits for a sequence of `length` positions with the image at `imageSpan` in a `layers`-deep decoder. */
export function varEdits(
  settings: ReferenceVar,
  imageSpan: readonly [number, number],
  layers: number,
  length: number,
): RedistributeEdit[] {
  const chosen =
    settings.layers ?? Array.from({ length: layers }, (_, l) => l).filter((l) => l >= 2 && l < layers - 1);
  const firstToken = imageSpan[0] > 0 ? 0 : imageSpan[1];
  return chosen.map((layer) => ({
    kind: 'redistribute',
    layer,
    query: settings.query ?? length - 1,
    imageSpan,
    firstToken,
    sinkDims: settings.sinkDims,
    tau: settings.tau,
    rho: settings.rho,
    minImage: settings.minImage,
    keep: settings.keep,
  }));
}

/** The sink positions at a layer whose input is `h`. */
export function sinkPositions(edit: RedistributeEdit, h: readonly Vector[]): Set<number> {
  const first = normalizedAbs(h[edit.firstToken]);
  const dims = edit.sinkDims ?? [...first.keys()].filter((d) => first[d] > edit.tau);
  const sinks = new Set<number>();
  h.forEach((x, j) => {
    const phi = normalizedAbs(x);
    if (dims.some((d) => phi[d] > edit.tau)) sinks.add(j);
  });
  return sinks;
}

/** Redistributes one head's probabilities `p` in place; whether the head qualified. */
export function redistribute(edit: RedistributeEdit, sinks: ReadonlySet<number>, p: Vector): boolean {
  const [start, end] = edit.imageSpan;
  let image = 0;
  let imageSinks = 0;
  let sinkCount = 0;
  let sink = 0;
  for (let j = 0; j < p.length; j++) {
    const inImage = j >= start && j < end;
    if (inImage) image += p[j];
    if (sinks.has(j)) {
      sink += p[j];
      if (inImage) {
        imageSinks += p[j];
        sinkCount++;
      }
    }
  }
  if (sinkCount === 0 || image === 0 || image < edit.minImage) return false;
  const nonSink = image - imageSinks;
  if (nonSink / image < edit.rho || nonSink === 0) return false;
  const budget = (1 - edit.keep) * sink;
  for (let j = 0; j < p.length; j++) {
    if (sinks.has(j)) p[j] *= edit.keep;
    else if (j >= start && j < end) p[j] += (budget * p[j]) / nonSink;
  }
  return true;
}
