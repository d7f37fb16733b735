/**
 * Layer-wise masking sweep on one sample (paper §1): for every window of k consecutive decoder layers,
 * remove the image's influence there and record what the answer becomes.
 *
 * The cached strategy recomputes only what an intervention can change. One unmasked pass keeps every
 * layer's input and KV cache; then, for a window starting at layer l:
 *   - knockout: positions before the end of the image attend exactly as before, so their keys/values
 *     are reused at every layer and only the question rows are recomputed, from layer l up;
 *   - hidden: layers below l are unchanged and rows before the first edited image token are too, so
 *     the recompute starts at layer l from that token.
 * The naive strategy (a full forward per window) exists to test that both agree.
 */
import { FusionError } from '../../common/errors.ts';
import type { Intervention } from '../../common/interventions.ts';
import { runDecoder, sliceKV, type LayerKV } from '../inference/decoder.ts';
import { decoderContext, forward, logitsFor, planFor, type PreparedSample } from '../inference/forward.ts';
import { decodeGreedy, prefilledState, type Generation } from '../inference/generate.ts';
import { rowPositions } from '../inference/positions.ts';
import type { LoadedModel } from '../model/openModel.ts';
import type { SweepConfig } from '../../common/analysis.ts';
export type { SweepConfig } from '../../common/analysis.ts';

export interface MaskedOutcome {
  /** The masked layers: startLayer .. startLayer + window − 1. */
  readonly layers: readonly number[];
  readonly lastLogits: Float32Array;
  readonly answer: Generation;
}

export interface SampleSweep {
  readonly baseline: {
    readonly lastLogits: Float32Array;
    readonly answer: Generation;
    readonly imageAttention: readonly Float32Array[];
  };
  /** One outcome per window start, in layer order. */
  readonly masked: readonly MaskedOutcome[];
}

export type SweepStrategy = 'cached' | 'naive';

export function sweepWindows(layerCount: number, window: number): number[][] {
  if (!Number.isInteger(window) || window < 1 || window > layerCount) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `sweep window must be an integer in 1..${layerCount}, got ${window}`,
    );
  }
  return Array.from({ length: layerCount - window + 1 }, (_, start) =>
    Array.from({ length: window }, (_, i) => start + i),
  );
}

function interventionFor(config: SweepConfig, layers: readonly number[]): Intervention {
  return {
    mode: config.mode,
    layers,
    tokens: config.tokens,
    scale: config.mode === 'hidden' ? (config.scale ?? 0) : undefined,
  };
}

export async function sweepSample(
  model: LoadedModel,
  sample: PreparedSample,
  config: SweepConfig,
  options: { strategy?: SweepStrategy; signal?: AbortSignal } = {},
): Promise<SampleSweep> {
  const maxNewTokens = config.maxNewTokens ?? 8;
  const windows = sweepWindows(model.spec.decoder.layers, config.window ?? 1);
  const length = sample.expandedIds.length;
  const base = await forward(model, sample, { keepCache: true, signal: options.signal });
  const cache = base.cache;
  if (!cache) throw new Error('forward did not keep its cache');
  const baseline = {
    lastLogits: base.lastLogits,
    imageAttention: base.imageAttention,
    answer: await decodeGreedy(
      model,
      prefilledState(sample, base.lastLogits, cache.pass.present, planFor(model, sample)),
      maxNewTokens,
      options.signal,
    ),
  };
  const masked: MaskedOutcome[] = [];
  // Caches cut to a recompute's starting row, shared by every window that starts there (all of them,
  // for knockout), so each layer's prefix is copied once per sweep rather than once per window.
  const prefixes = new Map<number, (LayerKV | undefined)[]>();
  const prefixCache = (offset: number) => {
    let cut = prefixes.get(offset);
    if (!cut) {
      cut = cache.pass.present.map((kv) => kv && sliceKV(kv, offset, model.spec.decoder));
      prefixes.set(offset, cut);
    }
    return cut;
  };
  for (const layers of windows) {
    const interventions = [interventionFor(config, layers)];
    if (options.strategy === 'naive') {
      const full = await forward(model, sample, { interventions, attentionRows: [], signal: options.signal });
      const state = prefilledState(
        sample,
        full.lastLogits,
        full.present,
        planFor(model, sample, interventions),
      );
      const answer = await decodeGreedy(model, state, maxNewTokens, options.signal);
      masked.push({ layers, lastLogits: full.lastLogits, answer });
      continue;
    }
    const plan = planFor(model, sample, interventions);
    const start = layers[0];
    const firstChanged =
      config.mode === 'knockout'
        ? plan.knockoutFromQuery
        : Math.min(...(plan.hiddenEdits.get(start) ?? []).flatMap((e) => e.positions));
    const inputs = cache.pass.layerInputs[start];
    if (!inputs) throw new Error(`no cached input for layer ${start}`);
    const D = model.spec.decoder.hiddenSize;
    const pass = await runDecoder(decoderContext(model), {
      startLayer: start,
      hidden: inputs.subarray(firstChanged * D),
      offset: firstChanged,
      ropePositions: rowPositions(sample.positions, firstChanged, length - firstChanged),
      past: prefixCache(firstChanged),
      plan,
      readoutRows: [length - 1 - firstChanged],
      signal: options.signal,
    });
    const lastLogits = await logitsFor(model, pass.hidden, [length - 1 - firstChanged]);
    // Layers below the window keep the unmasked cache; from the window up, the recomputed one.
    const past = cache.pass.present.map((kv, layer) => (layer < start ? kv : pass.present[layer]));
    const answer = await decodeGreedy(
      model,
      prefilledState(sample, lastLogits, past, plan),
      maxNewTokens,
      options.signal,
    );
    masked.push({ layers, lastLogits, answer });
  }
  return { baseline, masked };
}

/**
 * Token-layer units of work of a sweep (rows × layers pushed through the decoder), for the benchmark's
 * work ratio: naive = windows × L × T; cached = L × T + Σ over windows of (L − start) × recomputed rows.
 */
export function sweepWork(layerCount: number, window: number, totalRows: number, recomputedRows: number) {
  const windows = sweepWindows(layerCount, window);
  const naive = windows.length * layerCount * totalRows;
  const cached =
    layerCount * totalRows + windows.reduce((sum, w) => sum + (layerCount - w[0]) * recomputedRows, 0);
  return { naive, cached, ratio: naive / cached };
}
