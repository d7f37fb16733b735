/**
 * One sample through the whole model: image → features, prompt → ids → embeddings with the image
 * features spliced in, the instrumented decoder, logits; plus greedy generation with a KV cache.
 */
import { FusionError } from '../../common/errors.ts';
import type { AttentionRows, Intervention } from '../../common/interventions.ts';
import { EMBED_IO, HEAD_IO } from '../../../native-models/architectures/contract.ts';
import { loadImage, preprocessImage, type ProcessedImage, type RgbImage } from '../image/index.ts';
import { checkTowerSize } from '../imageTokens/index.ts';
import type { ImageTokenLayout } from '../imageTokens/layout.ts';
import type { LoadedModel } from '../model/openModel.ts';
import { runDecoder, type DecoderPassOutput } from './decoder.ts';
import { compileInterventions, type InterventionPlan } from './interventionPlan.ts';
import { samplePositions, type SamplePositions } from './positions.ts';
import {
  checkPositions,
  encodePrompt,
  expandImageTokens,
  type PromptSpec,
  type TokenizedPrompt,
} from './prompt.ts';

export type ImageSource = string | Uint8Array | RgbImage;

export interface SampleInput {
  readonly image: ImageSource;
  /** More images after the first (e.g. a crop of it, as ViCrop-style refinements feed). */
  readonly extraImages?: readonly ImageSource[];
  readonly prompt: PromptSpec;
  /** Pad to a square of the processor's mean colour first (expand2square); never unless asked for. */
  readonly padToSquare?: 'none' | 'mean-color';
}

export interface PreparedSample extends TokenizedPrompt {
  readonly prompt: PromptSpec;
  /** The first image, the one analyses and interventions refer to. */
  readonly image: ProcessedImage;
  /** That image as loaded (after EXIF orientation), for crops and overlays. */
  readonly source: RgbImage;
  readonly extraImages: readonly ProcessedImage[];
  /** The first image's token layout: what its span's tokens are and where they lie in `source`. */
  readonly imageLayout: ImageTokenLayout;
  /** Every image's layout, in prompt order (imageTokenSpans[k] has imageLayouts[k].count tokens). */
  readonly imageLayouts: readonly ImageTokenLayout[];
  /** Rotary positions of expandedIds (one stream, or three for multimodal rotary positions). */
  readonly positions: SamplePositions;
  /**
   * What the model's image-token scheme keeps for this sample's later steps (model.imageTokens reads
   * it back); absent for schemes that keep nothing.
   */
  readonly schemeState?: unknown;
}

export interface ForwardOptions {
  readonly interventions?: readonly Intervention[];
  readonly attentionRows?: AttentionRows;
  /** Keep every layer's input and KV cache, for partial recomputes (masking sweeps). */
  readonly keepCache?: boolean;
  /** Also return the read-out rows' attention over every position (`fullAttention`), not only the image's. */
  readonly keepFullAttention?: boolean;
  readonly signal?: AbortSignal;
}

export interface ForwardResult {
  readonly executionProvider: string;
  /** Logits at the last position, full vocabulary. */
  readonly lastLogits: Float32Array;
  /** Absolute positions of the attention read-out rows. */
  readonly attentionRows: readonly number[];
  /** Per layer: probabilities [heads, rows, imageTokens] from the read-out rows to the image tokens. */
  readonly attention: readonly Float32Array[];
  /** Per layer: head-mean probability from the last read-out row to each image token. */
  readonly imageAttention: readonly Float32Array[];
  /**
   * Per layer, with `keepFullAttention`: probabilities [heads, rows, positions] from the read-out rows
   * to every position of the sequence (what `attention` slices to the image span).
   */
  readonly fullAttention?: readonly Float32Array[];
  /** Per layer: residual stream after the layer at the last position. */
  readonly hiddenStates: readonly Float32Array[];
  /** Per layer: the KV cache over the whole prompt (what generation continues from). */
  readonly present: DecoderPassOutput['present'];
  readonly cache?: { readonly embeds: Float32Array; readonly pass: DecoderPassOutput };
}

export async function prepareSample(model: LoadedModel, input: SampleInput): Promise<PreparedSample> {
  const extra = input.extraImages ?? [];
  // The prompt is checked before any image is read, so a bad prompt fails fast.
  const encoded = encodePrompt(model, input.prompt, 1 + extra.length);
  const load = async (source: ImageSource) => (isRgbImage(source) ? source : await loadImage(source));
  const preprocess = (rgb: RgbImage) => {
    const image = preprocessImage(rgb, model.imageConfig, { padToSquare: input.padToSquare ?? 'none' });
    checkTowerSize(model.spec, image);
    return image;
  };
  const source = await load(input.image);
  const image = preprocess(source);
  const extraImages = await Promise.all(extra.map(async (e) => preprocess(await load(e))));
  // The scheme lays out each image's tokens; one that must run the tower to do so keeps what it gave.
  const prepared = await model.imageTokens.prepare(encoded.text, [image, ...extraImages]);
  const imageLayouts = prepared.layouts;
  const tokens = expandImageTokens(
    model.spec.imageTokenId,
    encoded,
    imageLayouts.map((l) => l.count),
  );
  const positions = samplePositions(
    model.spec,
    tokens.expandedIds.length,
    tokens.imageTokenSpans,
    imageLayouts,
  );
  const lastPosition = positions.streams.reduce((m, s) => s.reduce((a, b) => Math.max(a, b), m), 0);
  checkPositions(1 + lastPosition, model.spec.maxPositions, 'with its image tokens');
  return {
    ...tokens,
    prompt: input.prompt,
    image,
    source,
    extraImages,
    imageLayout: imageLayouts[0],
    imageLayouts,
    positions,
    schemeState: prepared.state,
  };
}

function isRgbImage(value: unknown): value is RgbImage {
  return (
    typeof value === 'object' && value !== null && 'data' in value && 'width' in value && 'height' in value
  );
}

/** inputs_embeds [T, D] with each image's projected features at its span. */
export async function embedSample(model: LoadedModel, sample: PreparedSample): Promise<Float32Array> {
  const ids = BigInt64Array.from(sample.expandedIds.map((id) => BigInt(id)));
  const embedded = await model.sessions.embed.run({ [EMBED_IO.ids]: { data: ids, dims: [1, ids.length] } });
  const embeds = Float32Array.from(embedded[EMBED_IO.embeds].data);
  const D = model.spec.decoder.hiddenSize;
  const images = [sample.image, ...sample.extraImages];
  for (const [k, image] of images.entries()) {
    const features = await model.imageTokens.features(image, k, sample.schemeState);
    const [start, end] = sample.imageTokenSpans[k];
    if (features.length !== (end - start) * D) {
      throw new FusionError(
        'RUNTIME',
        `vision tower produced ${features.length / D} image tokens, expected ${end - start}`,
      );
    }
    embeds.set(features, start * D);
  }
  return embeds;
}

function readoutPositions(rows: AttentionRows | undefined, sample: PreparedSample): number[] {
  const last = sample.expandedIds.length - 1;
  if (rows === undefined || rows === 'last') return [last];
  if (rows === 'question') {
    const from = sample.imageTokenSpan[1];
    return Array.from({ length: last - from + 1 }, (_, i) => from + i);
  }
  for (const r of rows) {
    if (!Number.isInteger(r) || r < 0 || r > last) {
      throw new FusionError('BAD_ARGUMENT', `attention row ${r} is outside the sequence (0..${last})`);
    }
  }
  return [...rows];
}

/** Logits for chosen rows of a residual stream [rows, D]: final norm + lm_head. */
export async function logitsFor(
  model: LoadedModel,
  hidden: Float32Array,
  rows: readonly number[],
): Promise<Float32Array> {
  const D = model.spec.decoder.hiddenSize;
  const picked = new Float32Array(rows.length * D);
  rows.forEach((r, i) => picked.set(hidden.subarray(r * D, (r + 1) * D), i * D));
  const out = await model.sessions.head.run({
    [HEAD_IO.hidden]: { data: picked, dims: [1, rows.length, D] },
  });
  const logits = out[HEAD_IO.logits].data;
  assertFiniteLogits(logits, logits.length / rows.length, hidden, D);
  return logits;
}

/**
 * NaN or ±Inf logits would score as an answer (argmax picks token 0, a probability comes out NaN):
 * refuse them, so the sample is recorded as an error with its cause rather than as a result.
 */
function assertFiniteLogits(logits: Float32Array, vocab: number, hidden: Float32Array, D: number): void {
  const bad = logits.findIndex((v) => !Number.isFinite(v));
  if (bad < 0) return;
  const row = hidden.findIndex((v) => !Number.isFinite(v));
  const where =
    row >= 0
      ? `the residual stream is already non-finite at position ${Math.floor(row / D)} after the last layer`
      : 'the residual stream is finite, so the final norm or the vocabulary projection overflowed';
  throw new FusionError(
    'RUNTIME',
    `the model produced non-finite logits (NaN/Inf; first at vocabulary index ${bad % vocab}): ${where}. ` +
      'Weights are checked when the model cache is built, so this comes from the activations: try --precision fp32, or check the input',
  );
}

export function decoderContext(model: LoadedModel) {
  return {
    shape: model.spec.decoder,
    layers: model.sessions.layers,
    slidingWindow: model.spec.slidingWindow,
    ropeTables: model.spec.ropeTables,
  };
}

export function planFor(
  model: LoadedModel,
  sample: TokenizedPrompt,
  interventions: readonly Intervention[] = [],
): InterventionPlan {
  return compileInterventions(interventions, {
    imageSpan: sample.imageTokenSpan,
    layers: model.spec.decoder.layers,
    heads: model.spec.decoder.heads,
    promptLength: sample.expandedIds.length,
  });
}

export async function forward(
  model: LoadedModel,
  sample: PreparedSample,
  options: ForwardOptions = {},
): Promise<ForwardResult> {
  const plan = planFor(model, sample, options.interventions);
  const positions = readoutPositions(options.attentionRows, sample);
  const embeds = await embedSample(model, sample);
  const pass = await runDecoder(decoderContext(model), {
    startLayer: 0,
    hidden: embeds,
    offset: 0,
    ropePositions: sample.positions.streams,
    past: [],
    plan,
    readoutRows: positions,
    keepLayerInputs: options.keepCache,
    signal: options.signal,
  });
  const total = sample.expandedIds.length;
  const lastLogits = await logitsFor(model, pass.hidden, [total - 1]);
  const { heads } = model.spec.decoder;
  const attention = pass.attention.map((probs) =>
    imageColumns(probs as Float32Array, heads, positions.length, total, sample.imageTokenSpan),
  );
  // Head mean of the last read-out row (the answer position unless rows were chosen explicitly).
  const imageAttention = positions.length
    ? attention.map((a) => headMean(a, heads, positions.length, positions.length - 1))
    : [];
  return {
    executionProvider: model.provider.provider,
    lastLogits,
    attentionRows: positions,
    attention,
    imageAttention,
    ...(options.keepFullAttention ? { fullAttention: pass.attention as Float32Array[] } : {}),
    hiddenStates: pass.lastHidden as Float32Array[],
    present: pass.present,
    cache: options.keepCache ? { embeds, pass } : undefined,
  };
}

/** [heads, rows, total] → [heads, rows, imageTokens]. */
export function imageColumns(
  probs: Float32Array,
  heads: number,
  rows: number,
  total: number,
  span: readonly [number, number],
): Float32Array {
  const [start, end] = span;
  const n = end - start;
  const out = new Float32Array(heads * rows * n);
  for (let hr = 0; hr < heads * rows; hr++)
    out.set(probs.subarray(hr * total + start, hr * total + end), hr * n);
  return out;
}

/** Mean over heads of one row of [heads, rows, n]. */
export function headMean(a: Float32Array, heads: number, rows: number, row: number): Float32Array {
  const n = a.length / (heads * rows);
  const out = new Float32Array(n);
  for (let h = 0; h < heads; h++) {
    const from = (h * rows + row) * n;
    for (let j = 0; j < n; j++) out[j] += a[from + j] / heads;
  }
  return out;
}

export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
