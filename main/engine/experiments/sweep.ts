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
 * Those recomputes share their rows and their prefix, so windows are run together: at each layer one
 * call carries every window that has started, stacked with a block-diagonal attention bias (a few
 * question rows per window make a call's fixed cost dominate, so knockout batches as many windows as
 * a memory budget allows; hidden runs one window at a time, see `batchSize`). Each window then
 * decodes on its own cache.
 * The naive strategy (a full forward per window) exists to test that both agree.
 *
 * In hidden mode the image tokens' states are zeroed (scaled), or with fill resample / mean replaced by
 * donor images' states at the same layer (experiments/donors.ts): the same recomputes, other edits.
 */
import { FusionError } from '../../common/errors.ts';
import type { Intervention } from '../../common/interventions.ts';
import { blocksPerCall, runBatchedDecoder } from '../inference/batchedDecoder.ts';
import type { DecoderPassOutput } from '../inference/decoder.ts';
import { decoderContext, forward, logitsFor, planFor, type PreparedSample } from '../inference/forward.ts';
import { decodeGreedy, prefilledState, type Generation } from '../inference/generate.ts';
import type { InterventionPlan } from '../inference/interventionPlan.ts';
import { rowPositions } from '../inference/positions.ts';
import type { LoadedModel } from '../model/openModel.ts';
import type { SweepConfig } from '../analyses/sweep.ts';
import { donorStates } from './donors.ts';
export type { SweepConfig } from '../analyses/sweep.ts';

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

/** An outcome's answer text with the logits its first token was chosen from. */
export function answerOf(outcome: { readonly lastLogits: Float32Array; readonly answer: Generation }): {
  text: string;
  lastLogits: Float32Array;
} {
  return { text: outcome.answer.text, lastLogits: outcome.lastLogits };
}

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

/** How many donor images a sweep's fill takes: none to zero, one to resample, `donors` for a mean. */
export function donorCount(config: SweepConfig): number {
  if (config.mode !== 'hidden') return 0;
  return { zero: 0, resample: 1, mean: config.donors }[config.fill];
}

function interventionFor(
  config: SweepConfig,
  layers: readonly number[],
  replacement: ReadonlyMap<number, Float32Array> | undefined,
): Intervention {
  return {
    mode: config.mode,
    layers,
    tokens: config.tokens,
    ...(replacement ? { replacement } : {}),
    scale: config.mode === 'hidden' && !replacement ? config.scale : undefined,
    queries: config.mode === 'knockout' ? config.queries : undefined,
    heads: config.mode === 'knockout' ? config.heads : undefined,
  };
}

/** Bytes one batched layer call's attention scores may take (see `blocksPerCall`). */
export const SWEEP_BATCH_BYTES = 256 * 2 ** 20;

export interface SweepOptions {
  readonly strategy?: SweepStrategy;
  /** Cached strategy: the budget for one batched layer call (tests shrink it to split batches). */
  readonly batchBytes?: number;
  /**
   * Fill resample or mean: the donor images, each prepared with this sample's prompt (donors.ts's
   * prepareDonor), as many as `donorCount` says.
   */
  readonly donors?: readonly PreparedSample[];
  readonly signal?: AbortSignal;
}

export async function sweepSample(
  model: LoadedModel,
  sample: PreparedSample,
  config: SweepConfig,
  options: SweepOptions = {},
): Promise<SampleSweep> {
  const maxNewTokens = config.maxNewTokens;
  const windows = sweepWindows(model.spec.decoder.layers, config.window);
  const donors = options.donors ?? [];
  if (donors.length !== donorCount(config)) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `a ${config.mode} sweep with fill ${config.fill} takes ${donorCount(config)} donor image(s), got ${donors.length}`,
    );
  }
  // Before the sample's own pass, so the donors' passes are gone when its cache is held.
  const replacement = donors.length > 0 ? await donorStates(model, donors, options.signal) : undefined;
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
  const run: WindowRun = { model, sample, config, maxNewTokens, options, replacement };
  const masked =
    options.strategy === 'naive'
      ? await naiveSweep(run, windows)
      : await cachedSweep(run, windows, cache.pass);
  return { baseline, masked };
}

interface WindowRun {
  readonly model: LoadedModel;
  readonly sample: PreparedSample;
  readonly config: SweepConfig;
  readonly maxNewTokens: number;
  readonly options: SweepOptions;
  readonly replacement: ReadonlyMap<number, Float32Array> | undefined;
}

async function naiveSweep(run: WindowRun, windows: readonly number[][]): Promise<MaskedOutcome[]> {
  const { model, sample, config, maxNewTokens, options } = run;
  const masked: MaskedOutcome[] = [];
  for (const layers of windows) {
    const interventions = [interventionFor(config, layers, run.replacement)];
    const full = await forward(model, sample, { interventions, attentionRows: [], signal: options.signal });
    const state = prefilledState(
      sample,
      full.lastLogits,
      full.present,
      planFor(model, sample, interventions),
    );
    masked.push({
      layers,
      lastLogits: full.lastLogits,
      answer: await decodeGreedy(model, state, maxNewTokens, options.signal),
    });
  }
  return masked;
}

/**
 * Every window recomputes the same rows over the same unmasked prefix and differs only in its plan and
 * start layer, so groups of windows run as the blocks of one batched recompute
 * (inference/batchedDecoder.ts); then each window decodes on its own.
 */
async function cachedSweep(
  run: WindowRun,
  windows: readonly number[][],
  pass: DecoderPassOutput,
): Promise<MaskedOutcome[]> {
  const { model, sample, config, maxNewTokens, options } = run;
  const plans = windows.map((layers) =>
    planFor(model, sample, [interventionFor(config, layers, run.replacement)]),
  );
  const length = sample.expandedIds.length;
  // Every window edits the same tokens, so every recompute starts at the same row.
  const offset = firstChangedRow(config, plans[0], windows[0][0]);
  const rows = length - offset;
  const D = model.spec.decoder.hiddenSize;
  const layerInputs = pass.layerInputs.map((x) => x?.subarray(offset * D));
  const masked: MaskedOutcome[] = [];
  for (const group of windowGroups(windows.length, batchSize(run, windows.length, offset, rows))) {
    const batch = await runBatchedDecoder(decoderContext(model), {
      blocks: group.map((w) => ({ startLayer: windows[w][0], plan: plans[w] })),
      offset,
      rows,
      layerInputs,
      ropePositions: rowPositions(sample.positions, offset, rows),
      // The unmasked caches themselves: each call cuts its layer's prefix and drops it afterwards, so a
      // 7B sweep never holds a second copy of every layer's cache (~0.6 GB).
      past: pass.present,
      keepPresent: maxNewTokens > 1,
      signal: options.signal,
    });
    const logits = await logitsFor(
      model,
      batch.hidden,
      group.map((_, b) => (b + 1) * rows - 1),
    );
    const V = logits.length / group.length;
    for (const [b, w] of group.entries()) {
      const start = windows[w][0];
      const lastLogits = logits.slice(b * V, (b + 1) * V);
      // Layers below the window keep the unmasked cache; from the window up, the recomputed one. Built
      // only if a second token is decoded, one window at a time.
      const fullPast = () => {
        const own = batch.present(b);
        return pass.present.map((kv, layer) => (layer < start ? kv : own[layer]));
      };
      const state = prefilledState(sample, lastLogits, fullPast, plans[w]);
      const answer = await decodeGreedy(model, state, maxNewTokens, options.signal);
      masked.push({ layers: windows[w], lastLogits, answer });
    }
  }
  return masked;
}

/** The first row a window's intervention can change: the first question row, or the first edited token. */
function firstChangedRow(config: SweepConfig, plan: InterventionPlan, start: number): number {
  if (config.mode === 'knockout') return plan.keyBiasFromQuery;
  return Math.min(...(plan.hiddenEdits.get(start) ?? []).flatMap((e) => e.positions));
}

/**
 * How many windows to recompute together. Knockout recomputes the few question rows, where a layer
 * call's fixed cost dominates, so as many as the budget allows. Hidden recomputes hundreds of rows from
 * the first edited image token: there batching saves next to nothing, while every block would attend
 * over every other block's columns (masked) and the batch's caches would be kept at once, so one
 * window at a time, as a plain partial recompute.
 */
function batchSize(run: WindowRun, windows: number, offset: number, rows: number): number {
  if (run.config.mode === 'hidden') return 1;
  const heads = run.model.spec.decoder.heads;
  return blocksPerCall(windows, rows, offset, heads, run.options.batchBytes ?? SWEEP_BATCH_BYTES);
}

/** Window indexes 0..count−1 in consecutive groups of at most `size`, as even as possible. */
export function windowGroups(count: number, size: number): number[][] {
  const groups = Math.ceil(count / size);
  return Array.from({ length: groups }, (_, g) => {
    const from = Math.floor((g * count) / groups);
    const to = Math.floor(((g + 1) * count) / groups);
    return Array.from({ length: to - from }, (_, i) => from + i);
  });
}

/**
 * Token-layer units of work of a sweep (rows × layers pushed through the decoder), for the benchmark's
 * work ratio: naive = windows × L × T; cached = L × T + Σ over windows of (L − start) × recomputed rows.
 * Batching changes how many layer calls carry those rows, not the rows, so the ratio is what the cached
 * strategy can reach once per-call costs are amortised.
 */
export function sweepWork(layerCount: number, window: number, totalRows: number, recomputedRows: number) {
  const windows = sweepWindows(layerCount, window);
  const naive = windows.length * layerCount * totalRows;
  const cached =
    layerCount * totalRows + windows.reduce((sum, w) => sum + (layerCount - w[0]) * recomputedRows, 0);
  return { naive, cached, ratio: naive / cached };
}
