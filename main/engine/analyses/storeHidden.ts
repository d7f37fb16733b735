/**
 * A setting every analysis shares: keep the residual stream ("hidden states") after chosen decoder
 * layers at chosen positions of each sample, for probing in Python (`fusionscope export`). One text
 * setting, `layers=0,8,16;positions=image;max-mb=512`, so that it is one flag (`--store-hidden`) and one
 * form field for every analysis; it is parsed into a `HiddenStateRequest` wherever it is used.
 *
 * The states come from one extra unmasked pass over the item's prompt (question + suffix, as
 * `prepareItem` asks it), after the analysis's own work: the same states whatever the analysis, and no
 * analysis module has to know about them. Stored per sample as float32 arrays (the store's one dtype):
 *   hidden_states    [layers, positions, hidden]   residual stream after each layer, before the final norm
 *   hidden_layers    [layers]                      which decoder layers (0-based)
 *   hidden_positions [positions]                   which sequence positions (0-based, image tokens expanded)
 *   hidden_token_ids [positions]                   the token id at each of them
 */
import { z } from 'zod';

import { FusionError } from '../../common/errors.ts';
import type { ArrayOutput } from '../../common/runs.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { forward, type ForwardResult, type PreparedSample } from '../inference/forward.ts';
import type { LoadedModel } from '../model/openModel.ts';
import type { ExperimentBounds } from './analysis.ts';
import { prepareItem } from './samples.ts';

export const HIDDEN_POSITIONS = ['image', 'question', 'last', 'all'] as const;
export type HiddenPositions = (typeof HIDDEN_POSITIONS)[number];

/**
 * The per-sample size a request may store unless it raises `max-mb`: a 7B model's 32 layers at 600
 * positions are 315 MB a sample (32 × 600 × 4096 × 4 bytes), 30 GB over 100 items, which is rarely meant.
 */
export const DEFAULT_MAX_MB = 256;
const MAX_MAX_MB = 1_000_000;
const BYTES_PER_VALUE = 4;
const MB = 1_000_000;

export interface HiddenStateRequest {
  /** Decoder layers whose output is kept, ascending and distinct; 'all' for every layer. */
  readonly layers: readonly number[] | 'all';
  readonly positions: HiddenPositions;
  /** A sample whose states would take more than this many MB (10^6 bytes) is refused. */
  readonly maxMb: number;
}

const KEYS = ['layers', 'positions', 'max-mb'] as const;
type Key = (typeof KEYS)[number];

/** The schema prefixes the setting's name and flag; `checkHiddenRequest` names the flag itself. */
function refuse(message: string): never {
  throw new FusionError('BAD_ARGUMENT', message);
}

function parseLayers(text: string): readonly number[] | 'all' {
  if (text === 'all') return 'all';
  const layers = text.split(',').map((part) => {
    const trimmed = part.trim();
    if (!/^\d{1,6}$/.test(trimmed)) {
      refuse(`layer "${trimmed}" is not a whole number ≥ 0 (expected e.g. layers=0,8,16 or layers=all)`);
    }
    return Number(trimmed);
  });
  return [...new Set(layers)].sort((a, b) => a - b);
}

/** Reads `layers=…;positions=…;max-mb=…` (layers required); throws BAD_ARGUMENT naming the bad part. */
export function parseHiddenRequest(text: string): HiddenStateRequest {
  const given = new Map<Key, string>();
  for (const part of text.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim();
    if (!(KEYS as readonly string[]).includes(key)) {
      refuse(`unknown part "${key.slice(0, 40)}" (expected ${KEYS.map((k) => `${k}=…`).join(', ')})`);
    }
    if (eq < 0) refuse(`"${key}" needs a value (${key}=…)`);
    if (given.has(key as Key)) refuse(`"${key}" is given twice`);
    given.set(key as Key, part.slice(eq + 1).trim());
  }
  const layers = given.get('layers');
  if (layers === undefined) refuse('say which layers, e.g. layers=0,8,16 or layers=all');
  const positions = given.get('positions') ?? 'all';
  if (!(HIDDEN_POSITIONS as readonly string[]).includes(positions)) {
    refuse(`positions "${positions.slice(0, 40)}" is not one of ${HIDDEN_POSITIONS.join(', ')}`);
  }
  const maxText = given.get('max-mb');
  const maxMb = maxText === undefined ? DEFAULT_MAX_MB : Number(maxText);
  if (maxText !== undefined && (maxText === '' || !(maxMb > 0) || maxMb > MAX_MAX_MB)) {
    refuse(`max-mb "${maxText.slice(0, 40)}" is not a number of MB in (0, ${MAX_MAX_MB}]`);
  }
  return { layers: parseLayers(layers), positions: positions as HiddenPositions, maxMb };
}

/** The one spelling of a request (the run's identity): layers sorted, positions always, max-mb if raised. */
export function hiddenRequestText(request: HiddenStateRequest): string {
  const layers = request.layers === 'all' ? 'all' : request.layers.join(',');
  const max = request.maxMb === DEFAULT_MAX_MB ? '' : `;max-mb=${request.maxMb}`;
  return `layers=${layers};positions=${request.positions}${max}`;
}

/** The setting as analyses spread it into their schema (through `promptSettings`). */
export const storeHiddenSettings = {
  storeHidden: z
    .string()
    .max(2000)
    .superRefine((text, ctx) => {
      try {
        parseHiddenRequest(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    // Parsing stays idempotent: the canonical text parses to itself.
    .overwrite((text) => {
      try {
        return hiddenRequestText(parseHiddenRequest(text));
      } catch {
        return text;
      }
    })
    .optional()
    .meta({
      label: 'Store hidden states',
      flag: 'store-hidden',
      description:
        'Keep the residual stream after these layers at these positions for every sample (float32, for `fusionscope export`): layers=0,8,16|all; positions=image|question|last|all; max-mb=N (per sample, default 256)',
      whenOmitted: 'none stored',
    }),
};

/** What this module reads off any analysis's parsed settings (both come with `promptSettings`). */
const carried = z.object({ storeHidden: z.string().optional(), promptSuffix: z.string().optional() });

/** The request a parsed config carries, if any. */
export function hiddenRequestOf(config: unknown): HiddenStateRequest | undefined {
  const parsed = carried.safeParse(config);
  const text = parsed.success ? parsed.data.storeHidden : undefined;
  return text === undefined ? undefined : parseHiddenRequest(text);
}

function layersOf(request: HiddenStateRequest, layerCount: number): readonly number[] {
  return request.layers === 'all' ? Array.from({ length: layerCount }, (_, l) => l) : request.layers;
}

const sizeText = (bytes: number) => `${(bytes / MB).toFixed(bytes < 10 * MB ? 2 : 0)} MB`;

function sizeProblem(
  request: HiddenStateRequest,
  layers: number,
  positions: number,
  hiddenSize: number,
): string | null {
  const bytes = layers * positions * hiddenSize * BYTES_PER_VALUE;
  if (bytes <= request.maxMb * MB) return null;
  return (
    `${sizeText(bytes)} per sample (${layers} layers × ${positions} positions × ${hiddenSize} × ${BYTES_PER_VALUE} bytes), ` +
    `over the ${request.maxMb} MB allowed: store fewer layers or positions, or raise the limit with max-mb=`
  );
}

/**
 * Refuses, before any item runs, layers the model lacks and a request whose smallest possible sample
 * (image tokens alone, when their count is fixed) is over its size limit.
 */
export function checkHiddenRequest(request: HiddenStateRequest, bounds: ExperimentBounds): void {
  const outside = request.layers === 'all' ? [] : request.layers.filter((l) => l >= bounds.layers);
  if (outside.length > 0) {
    refuse(
      `--store-hidden: layer ${outside.join(', ')} is outside the model's ${bounds.layers} decoder layers (0..${bounds.layers - 1})`,
    );
  }
  if (bounds.hiddenSize === undefined) return;
  const image = bounds.imageTokensPerImage ?? 0;
  const fewest = { image, question: 1, last: 1, all: image + 1 }[request.positions];
  const problem = sizeProblem(
    request,
    layersOf(request, bounds.layers).length,
    Math.max(1, fewest),
    bounds.hiddenSize,
  );
  if (problem) refuse(`--store-hidden: at least ${problem}`);
}

/** Absolute positions `which` names in a prepared sample (the first image's span for 'image'). */
export function hiddenPositions(
  which: HiddenPositions,
  sample: Pick<PreparedSample, 'expandedIds' | 'imageTokenSpan'>,
): number[] {
  const total = sample.expandedIds.length;
  const [start, end] = sample.imageTokenSpan;
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  switch (which) {
    case 'image':
      return range(start, end);
    case 'question':
      return range(end, total);
    case 'last':
      return [total - 1];
    case 'all':
      return range(0, total);
  }
}

/** The residual stream after `layer` at every position, [T, D], from a pass run with keepCache. */
function residualAfter(pass: ForwardResult, layer: number, layerCount: number): Float32Array {
  const cache = pass.cache;
  if (!cache) throw new FusionError('INTERNAL', 'hidden states need the pass run with keepCache');
  // A layer's output is the next layer's input (no intervention edits it here); the last layer's is
  // what the decoder hands to the final norm.
  const next = layer + 1 < layerCount ? cache.pass.layerInputs[layer + 1] : cache.pass.hidden;
  if (!next) throw new FusionError('INTERNAL', `the pass kept no residual stream after layer ${layer}`);
  return next;
}

/** The arrays a request adds to one sample (see the header); [] without a request. */
export async function hiddenStateArrays(
  model: LoadedModel,
  item: DatasetItem,
  request: HiddenStateRequest,
  options: { readonly promptSuffix?: string },
  signal?: AbortSignal,
): Promise<ArrayOutput[]> {
  const layerCount = model.spec.decoder.layers;
  const D = model.spec.decoder.hiddenSize;
  const sample = await prepareItem(model, item, options);
  const layers = layersOf(request, layerCount);
  const positions = hiddenPositions(request.positions, sample);
  const problem = sizeProblem(request, layers.length, positions.length, D);
  if (problem) {
    throw new FusionError(
      'INSUFFICIENT_RESOURCES',
      `hidden states of item '${item.id}' would take ${problem}`,
    );
  }
  const lastOnly = request.positions === 'last';
  const pass = await forward(model, sample, { keepCache: !lastOnly, signal });
  const states = new Float32Array(layers.length * positions.length * D);
  layers.forEach((layer, i) => {
    if (lastOnly) {
      states.set(pass.hiddenStates[layer], i * D);
      return;
    }
    const stream = residualAfter(pass, layer, layerCount);
    positions.forEach((p, j) =>
      states.set(stream.subarray(p * D, (p + 1) * D), (i * positions.length + j) * D),
    );
  });
  return [
    { name: 'hidden_states', data: states, shape: [layers.length, positions.length, D] },
    { name: 'hidden_layers', data: Float32Array.from(layers), shape: [layers.length] },
    { name: 'hidden_positions', data: Float32Array.from(positions), shape: [positions.length] },
    {
      name: 'hidden_token_ids',
      data: Float32Array.from(positions, (p) => sample.expandedIds[p]),
      shape: [positions.length],
    },
  ];
}

/** The arrays `config`'s request adds to one sample of `item`; [] when it asks for none. */
export async function hiddenStatesFor(
  model: LoadedModel,
  item: DatasetItem,
  config: unknown,
  signal?: AbortSignal,
): Promise<ArrayOutput[]> {
  const request = hiddenRequestOf(config);
  if (!request) return [];
  const { promptSuffix } = carried.parse(config);
  return hiddenStateArrays(model, item, request, { promptSuffix }, signal);
}
