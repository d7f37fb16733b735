/**
 * The Playground's one question about one image: the greedy answer with, per generated token and
 * per layer, where the position that chose it looked in the image (inference/generate.ts keeps those
 * rows), and the same with the image masked at chosen layers. Nothing is recorded: it needs a model,
 * not a dataset or a workspace.
 */
import type { PlaygroundAnswer, PlaygroundMask, PlaygroundResult } from '../../common/api/playground.ts';
import type { Intervention } from '../../common/interventions.ts';
import { displayCells, toDisplayMap, type ImageTokenLayout } from '../analysis/imageTokens.ts';
import { toDistribution } from '../experiments/metrics/index.ts';
import { FORMAT_LABELS, detectFormat } from '../image/format.ts';
import { loadImage, resizeImage, type RgbImage } from '../image/index.ts';
import { headMean, prepareSample } from '../inference/forward.ts';
import { generate, tokenPieces, type Generation } from '../inference/generate.ts';
import type { LoadedModel } from '../model/openModel.ts';
import { encodeRgbPng, pngDataUri } from '../report/png.ts';

/** The preview's longest side: enough for an overlay on screen, small enough to send as JSON. */
const PREVIEW_MAX_SIDE = 1024;

export interface AskImageRequest {
  /** The image file's bytes, in any format the engine decodes. */
  readonly image: Uint8Array;
  /** The file's name, for error messages. */
  readonly name: string;
  readonly question: string;
  readonly maxNewTokens: number;
  readonly mask?: PlaygroundMask;
  readonly signal?: AbortSignal;
}

export async function askImage(
  model: LoadedModel,
  request: AskImageRequest,
): Promise<Omit<PlaygroundResult, 'modelId'>> {
  const source = await loadImage(request.image, { name: request.name });
  const sample = await prepareSample(model, {
    image: source,
    prompt: { kind: 'question', text: request.question },
  });
  const options = { maxNewTokens: request.maxNewTokens, tokenAttention: true, signal: request.signal };
  const answer = await generate(model, sample, options);
  const mask = request.mask ?? null;
  const masked = mask
    ? await generate(model, sample, { ...options, interventions: [maskIntervention(mask)] })
    : null;
  const cells = displayCells(sample.imageLayout);
  const grid = cells.grids[0];
  const format = detectFormat(request.image);
  const heads = model.spec.decoder.heads;
  const view = (g: Generation) => answerView(model, g, sample.imageLayout, heads);
  return {
    question: request.question,
    prompt: sample.text,
    image: {
      width: source.width,
      height: source.height,
      format: format ? FORMAT_LABELS[format] : 'unknown',
      preview: pngDataUri(encodeRgbPng(previewOf(source))),
    },
    tokenRects: [...cells.rects],
    grid: grid ? { rows: grid.rows, cols: grid.cols } : null,
    layers: model.spec.decoder.layers,
    answer: view(answer),
    masked: masked ? view(masked) : null,
    mask,
    executionProvider: answer.executionProvider,
  };
}

/** Every image token, every query position after the image (the sweep's setting). */
export function maskIntervention(mask: PlaygroundMask): Intervention {
  return {
    mode: mask.mode,
    layers: [...mask.layers],
    ...(mask.scale !== undefined ? { scale: mask.scale } : {}),
  };
}

/** Each token's maps as the app draws them: head mean, renormalised over the image (A^(l)), on display cells. */
function answerView(
  model: LoadedModel,
  generation: Generation,
  layout: ImageTokenLayout,
  heads: number,
): PlaygroundAnswer {
  const pieces = tokenPieces(model, generation.tokenIds);
  return {
    text: generation.text,
    tokens: generation.tokenIds.map((id, i) => ({
      id,
      text: pieces[i],
      raw: model.tokenizer.idToToken(id) ?? '',
    })),
    stoppedBy: generation.stoppedBy,
    maps: (generation.tokenAttention ?? []).map((layers) =>
      layers.map((perHead) => Array.from(toDisplayMap(layout, imageDistribution(perHead, heads)))),
    ),
  };
}

/** [heads, n] → the head mean as a distribution over the n image tokens (all zero stays zero). */
function imageDistribution(perHead: Float32Array, heads: number): Float64Array {
  const mean = headMean(perHead, heads, 1, 0);
  return mean.some((v) => v > 0) ? toDistribution(mean) : Float64Array.from(mean);
}

function previewOf(image: RgbImage): RgbImage {
  const side = Math.max(image.width, image.height);
  if (side <= PREVIEW_MAX_SIDE) return image;
  const scale = PREVIEW_MAX_SIDE / side;
  return resizeImage(
    image,
    Math.max(1, Math.round(image.width * scale)),
    Math.max(1, Math.round(image.height * scale)),
    'bilinear',
  );
}
