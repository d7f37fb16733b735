/**
 * Greedy decoding with a KV cache. `decodeGreedy` continues from any prefilled state (a plain prefill,
 * or a masking sweep's partial recompute), so every caller shares one decoding loop.
 *
 * Each decoding step already runs its one query row through every layer, and the layer graphs return
 * the softmax of chosen rows at no extra cost (decoder.ts, `readoutRows`), so "where did this
 * generated token look" is kept by slicing that row to the image span: layers × heads × imageTokens
 * floats per token, only when asked for (`tokenAttention`).
 */
import { EMBED_IO } from '../../../native-models/architectures/contract.ts';
import { FusionError } from '../../common/errors.ts';
import type { Intervention } from '../../common/interventions.ts';
import type { LoadedModel } from '../model/openModel.ts';
import { ConsumedPast, runDecoder, type LayerKV } from './decoder.ts';
import { rowPositions, type SamplePositions } from './positions.ts';
import {
  argmax,
  decoderContext,
  embedSample,
  imageColumns,
  logitsFor,
  planFor,
  type PreparedSample,
} from './forward.ts';
import type { InterventionPlan } from './interventionPlan.ts';

export interface GenerateOptions {
  readonly maxNewTokens?: number;
  readonly interventions?: readonly Intervention[];
  readonly signal?: AbortSignal;
  /** Also keep each generated token's attention over the first image's tokens (`Generation.tokenAttention`). */
  readonly tokenAttention?: boolean;
}

/**
 * Per layer, probabilities [heads, imageTokens] from one query row to the first image's tokens, in the
 * image's own token order (as `ForwardResult.attention` for one row).
 */
export type RowImageAttention = readonly Float32Array[];

export interface Generation {
  readonly tokenIds: readonly number[];
  readonly text: string;
  readonly executionProvider: string;
  readonly stoppedBy: 'eos' | 'max_tokens';
  /**
   * With `tokenAttention`: per generated token, the attention of the position that chose it (the
   * last prompt position for the first token, the previous generated token's position after that),
   * the convention of Hugging Face's `generate(output_attentions=True)` step i.
   */
  readonly tokenAttention?: readonly RowImageAttention[];
}

/** What `decodeGreedy` needs to keep per-token attention: the image span and the prompt's last row. */
export interface TokenAttentionReadout {
  readonly imageSpan: readonly [number, number];
  /** The last prompt position's attention to the image (it chooses the first token). */
  readonly first: RowImageAttention;
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

/**
 * Greedy tokens after a prefilled prompt; interventions in `plan` hold at every step. With
 * `tokenAttention`, each step's read-out row (the one it runs anyway) is kept, sliced to the image.
 */
export async function decodeGreedy(
  model: LoadedModel,
  state: PrefilledState,
  maxNewTokens: number,
  signal?: AbortSignal,
  tokenAttention?: TokenAttentionReadout,
): Promise<Generation> {
  checkMaxNewTokens(maxNewTokens);
  const ctx = decoderContext(model);
  const { heads } = model.spec.decoder;
  const tokenIds: number[] = [];
  const attention: RowImageAttention[] = [];
  // The attention of the row whose logits are being read: it belongs to the token they choose, and is
  // dropped with it when that token is the end of the sequence.
  let chooser = tokenAttention?.first;
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
    if (chooser) attention.push(chooser);
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
    if (tokenAttention) chooser = rowToImage(pass.attention, heads, offset + 1, tokenAttention.imageSpan);
  }
  return {
    tokenIds,
    text: model.tokenizer.decode(tokenIds, { skipSpecialTokens: true }).trim(),
    executionProvider: model.provider.provider,
    stoppedBy,
    ...(tokenAttention ? { tokenAttention: attention } : {}),
  };
}

/** One read-out row's probabilities per layer ([heads, 1, total]) sliced to the image span. */
function rowToImage(
  probs: readonly (Float32Array | undefined)[],
  heads: number,
  total: number,
  span: readonly [number, number],
): RowImageAttention {
  return probs.map((p, layer) => {
    if (!p) throw new Error(`decoder: layer ${layer} returned no attention read-out`);
    return imageColumns(p, heads, 1, total, span);
  });
}

/**
 * Each generated token's text as it adds to the answer (the decoded prefix's growth), so a
 * SentencePiece "▁" becomes the space it stands for and a character split over byte tokens lands on
 * the token that completes it.
 */
export function tokenPieces(model: LoadedModel, tokenIds: readonly number[]): string[] {
  const pieces: string[] = [];
  let before = '';
  for (let i = 1; i <= tokenIds.length; i++) {
    const text = model.tokenizer.decode(tokenIds.slice(0, i), { skipSpecialTokens: true });
    // A byte-fallback token that ends mid-character decodes to U+FFFD until the character completes.
    const settled = text.endsWith('\uFFFD') && i < tokenIds.length ? before : text;
    // Should a longer prefix ever not extend the shorter one's text, the token decoded alone stands in.
    pieces.push(
      settled.startsWith(before)
        ? settled.slice(before.length)
        : model.tokenizer.decode([tokenIds[i - 1]], { skipSpecialTokens: true }),
    );
    before = settled;
  }
  return pieces;
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
  const { heads } = model.spec.decoder;
  return decodeGreedy(
    model,
    prefilledState(sample, lastLogits, prefill.present, plan),
    maxNewTokens,
    options.signal,
    options.tokenAttention
      ? {
          imageSpan: sample.imageTokenSpan,
          first: rowToImage(prefill.attention, heads, length, sample.imageTokenSpan),
        }
      : undefined,
  );
}
