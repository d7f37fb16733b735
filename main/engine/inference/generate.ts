/**
 * Greedy decoding with a KV cache. `decodeGreedy` continues from any prefilled state (a plain prefill,
 * or a masking sweep's partial recompute), so every caller shares one decoding loop.
 */
import { EMBED_IO } from '../../../native-models/architectures/contract.ts';
import { FusionError } from '../../common/errors.ts';
import type { Intervention } from '../../common/interventions.ts';
import type { LoadedModel } from '../model/openModel.ts';
import { ConsumedPast, runDecoder, type LayerKV } from './decoder.ts';
import { rowPositions, type SamplePositions } from './positions.ts';
import { argmax, decoderContext, embedSample, logitsFor, planFor, type PreparedSample } from './forward.ts';
import type { InterventionPlan } from './interventionPlan.ts';

export interface GenerateOptions {
  readonly maxNewTokens?: number;
  readonly interventions?: readonly Intervention[];
  readonly signal?: AbortSignal;
}

export interface Generation {
  readonly tokenIds: readonly number[];
  readonly text: string;
  readonly executionProvider: string;
  readonly stoppedBy: 'eos' | 'max_tokens';
}

/** Per layer: cache over the whole prompt. */
export type PromptCache = readonly (LayerKV | undefined)[];

export interface PrefilledState {
  /** Logits at the last prompt position. */
  readonly lastLogits: Float32Array;
  /** The cache, or what builds it: called only if a second token is decoded (a sweep's windows
   *  assemble theirs from shared parts, which a one-token answer never needs). */
  readonly past: PromptCache | (() => PromptCache);
  /** Prompt length. */
  readonly length: number;
  /** The prompt's rotary positions (generated tokens continue from them). */
  readonly positions: SamplePositions;
  readonly plan: InterventionPlan;
}

function checkMaxNewTokens(maxNewTokens: number): void {
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
    throw new FusionError('BAD_ARGUMENT', `maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  }
}

/** The state after `sample`'s prompt ran through the decoder with `plan`. */
export function prefilledState(
  sample: PreparedSample,
  lastLogits: Float32Array,
  past: PrefilledState['past'],
  plan: InterventionPlan,
): PrefilledState {
  return { lastLogits, past, length: sample.expandedIds.length, positions: sample.positions, plan };
}

/** Greedy tokens after a prefilled prompt; interventions in `plan` hold at every step. */
export async function decodeGreedy(
  model: LoadedModel,
  state: PrefilledState,
  maxNewTokens: number,
  signal?: AbortSignal,
): Promise<Generation> {
  checkMaxNewTokens(maxNewTokens);
  const ctx = decoderContext(model);
  const tokenIds: number[] = [];
  let stoppedBy: Generation['stoppedBy'] = 'max_tokens';
  let logits = state.lastLogits;
  // Built at the first step that needs it. Held only inside a ConsumedPast, so each layer's old cache
  // can go as soon as that layer has run (the caller may still hold the prompt's).
  let past: ConsumedPast | undefined;
  for (let offset = state.length; tokenIds.length < maxNewTokens; offset++) {
    const next = argmax(logits);
    if (model.eosTokenIds.includes(next)) {
      stoppedBy = 'eos';
      break;
    }
    tokenIds.push(next);
    if (tokenIds.length === maxNewTokens) break;
    const embedded = await model.sessions.embed.run({
      [EMBED_IO.ids]: { data: BigInt64Array.of(BigInt(next)), dims: [1, 1] },
    });
    past ??= new ConsumedPast([...(typeof state.past === 'function' ? state.past() : state.past)]);
    const pass = await runDecoder(ctx, {
      startLayer: 0,
      hidden: embedded[EMBED_IO.embeds].data,
      offset,
      ropePositions: rowPositions(state.positions, offset, 1),
      past,
      plan: state.plan,
      readoutRows: [0],
      signal,
    });
    logits = await logitsFor(model, pass.hidden, [0]);
    past = new ConsumedPast(pass.present);
  }
  return {
    tokenIds,
    text: model.tokenizer.decode(tokenIds, { skipSpecialTokens: true }).trim(),
    executionProvider: model.provider.provider,
    stoppedBy,
  };
}

export async function generate(
  model: LoadedModel,
  sample: PreparedSample,
  options: GenerateOptions = {},
): Promise<Generation> {
  const maxNewTokens = options.maxNewTokens ?? 32;
  checkMaxNewTokens(maxNewTokens);
  const plan = planFor(model, sample, options.interventions);
  const length = sample.expandedIds.length;
  const prefill = await runDecoder(decoderContext(model), {
    startLayer: 0,
    hidden: await embedSample(model, sample),
    offset: 0,
    ropePositions: sample.positions.streams,
    past: [],
    plan,
    readoutRows: [length - 1],
    signal: options.signal,
  });
  const lastLogits = await logitsFor(model, prefill.hidden, [length - 1]);
  return decodeGreedy(
    model,
    prefilledState(sample, lastLogits, prefill.present, plan),
    maxNewTokens,
    options.signal,
  );
}
