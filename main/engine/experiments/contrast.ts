/**
 * Contrastive attention on one sample (paper §3) and the baselines beside it. All refinements are
 * two-pass: pass 1 reads attention maps, pass 2 answers.
 *   pass 1: per-layer maps A^(l); i* = argmax over the candidate layers of H(A^(i), A^(final));
 *           CA = A^(final) − A^(i*).
 *   `mask`  (v1): the lowest-CA fraction ρ of image tokens is scaled by λ at the review layer: their
 *           residual stream at its input (the paper's; largely undone by the layer's RMSNorm, since
 *           RMSNorm(λx) = RMSNorm(x)), or later positions' attention weights on them (maskSpace
 *           'attention'). Without a review layer it does not apply.
 *   `crop`  (CVPR): the high-CA region (selectCrop's documented rule) is cut from the original image and
 *           fed after it: the model answers from the original plus the crop.
 *   `vicrop` (baseline, "MLLMs Know Where to Look"): the same crop-and-refeed, with the region chosen by
 *           relative attention (with the question ÷ with a generic prompt) at one middle layer.
 *   `var`   (baseline, "See What You Are Told", ICLR 2025): one pass, no maps: at the answer position,
 *           image-centric heads move attention from visual sink tokens to the other image tokens
 *           (varAnswer.ts). Not applicable when the model shows no sink dimensions (a narrow model
 *           cannot reach the paper's τ), and then never run as if it were.
 * The unrefined answer comes from the same runner, so comparisons are like for like.
 */
import { FusionError } from '../../common/errors.ts';
import type { Intervention } from '../../common/interventions.ts';
import { cropRgb, gridRectToPixels } from '../analysis/crops.ts';
import { displayCells, toDisplayMap } from '../analysis/imageTokens.ts';
import type { Rect } from '../image/index.ts';
import { prepareSample, type PreparedSample } from '../inference/forward.ts';
import { decodeGreedy, generate, type Generation } from '../inference/generate.ts';
import type { LoadedModel } from '../model/openModel.ts';
import { evolveSample } from './evolution.ts';
import { varFacts, varPrefill, type VarConfig } from './varAnswer.ts';
import {
  contrastiveMap,
  maskSelection,
  relativeAttention,
  selectCrop,
  type LayerDistance,
} from './metrics/index.ts';
import type { Refinement, VarFacts } from '../../common/analysis.ts';
import type { ResolvedContrastConfig as ContrastConfig } from '../analyses/contrast.ts';
export type { Refinement } from '../../common/analysis.ts';
export type { ResolvedContrastConfig as ContrastConfig } from '../analyses/contrast.ts';

/** ViCrop's generic prompt, verbatim. */
export const GENERIC_PROMPT = 'Write a general description of the image.';

export interface SampleContrast {
  readonly preLayer: number;
  readonly finalLayer: number;
  readonly candidates: readonly LayerDistance[];
  readonly ca: Float64Array;
  /** The attention maps CA is the difference of: A^(i*) (pre-integration) and A^(final). */
  readonly preMap: ArrayLike<number>;
  readonly finalMap: ArrayLike<number>;
  /** Image tokens `mask` suppressed. */
  readonly maskedTokens: readonly number[];
  /** Regions of the original image fed as the second image. */
  readonly crops: Partial<Record<'crop' | 'vicrop', Rect>>;
  readonly baseline: Generation;
  readonly refined: Partial<Record<Refinement, Generation>>;
  /**
   * Wall time per method on this sample: the plain answer's generation, and each refinement's passes
   * (pass 1's maps included for the two-pass ones; ViCrop's generic-prompt pass too; VAR's one pass).
   */
  readonly latencyMs: Partial<Record<'none' | Refinement, number>>;
  /** What VAR found and changed, when it ran. */
  readonly var?: VarFacts;
  /** Why VAR could not apply to this sample (it did not answer then). */
  readonly varNotApplicable?: string;
}

/**
 * Refuses layers outside a `layerCount`-deep model. Layers not given yet (left to be read off a sweep)
 * are not checked; the settings schema has already checked types and the refinement names.
 */
export function checkContrastLayers(
  config: Partial<Pick<ContrastConfig, 'candidateLayers' | 'reviewLayer' | 'vicropLayer' | 'varLayers'>>,
  layerCount: number,
): void {
  const inRange = (l: number) => Number.isInteger(l) && l >= 0 && l < layerCount;
  if (
    config.candidateLayers !== undefined &&
    (config.candidateLayers.length === 0 || !config.candidateLayers.every(inRange))
  ) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `candidate layers must be non-empty and within 0..${layerCount - 1}, got [${config.candidateLayers.join(', ')}]`,
    );
  }
  for (const [name, layer] of [
    ['review layer', config.reviewLayer],
    ['ViCrop layer', config.vicropLayer],
  ] as const) {
    if (layer !== undefined && layer !== null && !inRange(layer)) {
      throw new FusionError('BAD_ARGUMENT', `${name} must be within 0..${layerCount - 1}, got ${layer}`);
    }
  }
  if (config.varLayers !== undefined && !config.varLayers.every(inRange)) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `VAR layers must be within 0..${layerCount - 1}, got [${config.varLayers.join(', ')}]`,
    );
  }
}

/** VAR's settings out of the contrast settings. */
export function varConfigOf(config: ContrastConfig): VarConfig {
  return {
    tau: config.varTau,
    rho: config.varRho,
    minImageAttention: config.varMinImage,
    p: config.varP,
    ...(config.varSinkDims ? { sinkDims: config.varSinkDims } : {}),
    ...(config.varLayers ? { layers: config.varLayers } : {}),
  };
}

export function defaultVicropLayer(layerCount: number): number {
  return Math.round((14 / 31) * (layerCount - 1));
}

/** Answers with the original image followed by the crop `region` of it. */
async function answerWithCrop(
  model: LoadedModel,
  sample: PreparedSample,
  region: Rect,
  maxNewTokens: number,
) {
  const withCrop = await prepareSample(model, {
    image: sample.source,
    extraImages: [cropRgb(sample.source, region)],
    prompt: sample.prompt,
  });
  return generate(model, withCrop, { maxNewTokens });
}

/**
 * The pixel region of the cells `selectCrop` picks from a score per display cell (toDisplayMap), on
 * the primary grid of the sample's display cells (cells without a token score 0: no mass).
 */
function cropRegion(sample: PreparedSample, shown: ArrayLike<number>): Rect {
  const { rects, grids } = displayCells(sample.imageLayout);
  const grid = grids[0];
  if (!grid)
    throw new FusionError('BAD_ARGUMENT', 'the image tokens form no grid, so there is no region to crop');
  const spatial = grid.cells.map((cell) => (cell === null ? 0 : shown[cell]));
  const { rect } = selectCrop(spatial, grid.rows, grid.cols, { cellAspect: grid.cellAspect });
  return gridRectToPixels(grid, rects, rect, sample.source);
}

export async function contrastSample(
  model: LoadedModel,
  sample: PreparedSample,
  config: ContrastConfig,
): Promise<SampleContrast> {
  const layerCount = model.spec.decoder.layers;
  checkContrastLayers(config, layerCount);
  const { methods, maxNewTokens } = config;
  const latencyMs: Partial<Record<'none' | Refinement, number>> = {};
  const timed = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
    const start = performance.now();
    const value = await run();
    return [value, performance.now() - start];
  };
  // Pass 1 (the maps CA is read from) is part of every refinement's cost.
  const [{ maps }, mapsMs] = await timed(() => evolveSample(model, sample, []));
  const choice = contrastiveMap(maps, config.candidateLayers);
  const maskedTokens = maskSelection(choice.ca, config.rho);
  const refined: Partial<Record<Refinement, Generation>> = {};
  const crops: Partial<Record<'crop' | 'vicrop', Rect>> = {};
  // No review layer: mask does not apply (summaries say so); it is never run at another layer.
  if (methods.includes('mask') && config.reviewLayer !== null) {
    const mode = config.maskSpace === 'attention' ? 'attention' : 'hidden';
    const suppress: Intervention[] = maskedTokens.length
      ? [{ mode, layers: [config.reviewLayer], tokens: maskedTokens, scale: config.lambda }]
      : [];
    const [answer, ms] = await timed(() =>
      generate(model, sample, { maxNewTokens, interventions: suppress }),
    );
    refined.mask = answer;
    latencyMs.mask = mapsMs + ms;
  }
  if (methods.includes('crop')) {
    const [answer, ms] = await timed(() => {
      crops.crop = cropRegion(sample, toDisplayMap(sample.imageLayout, choice.ca));
      return answerWithCrop(model, sample, crops.crop, maxNewTokens);
    });
    refined.crop = answer;
    latencyMs.crop = mapsMs + ms;
  }
  if (methods.includes('vicrop')) {
    const started = performance.now();
    const layer = config.vicropLayer;
    const generic = await prepareSample(model, {
      image: sample.source,
      prompt: { kind: 'question', text: GENERIC_PROMPT },
    });
    const genericMaps = (await evolveSample(model, generic, [])).maps;
    // Compared on the image, not token by token: a query-token model's queries differ between the
    // two prompts (the Q-Former read each), so only their maps on the patches line up.
    const relative = relativeAttention(
      toDisplayMap(sample.imageLayout, maps[layer]),
      toDisplayMap(generic.imageLayout, genericMaps[layer]),
    );
    crops.vicrop = cropRegion(sample, relative);
    refined.vicrop = await answerWithCrop(model, sample, crops.vicrop, maxNewTokens);
    latencyMs.vicrop = mapsMs + performance.now() - started;
  }
  let varResult: Pick<SampleContrast, 'var' | 'varNotApplicable'> = {};
  if (methods.includes('var')) {
    const [outcome, ms] = await timed(async () => {
      const prefill = await varPrefill(model, sample, varConfigOf(config));
      return prefill.applicable
        ? { prefill, answer: await decodeGreedy(model, prefill.state, maxNewTokens) }
        : { prefill, answer: null };
    });
    if (outcome.prefill.applicable && outcome.answer) {
      refined.var = outcome.answer;
      latencyMs.var = ms;
      varResult = { var: varFacts(outcome.prefill.layers, sample.imageTokenSpan) };
    } else if (!outcome.prefill.applicable) {
      varResult = { varNotApplicable: outcome.prefill.reason };
    }
  }
  const [baseline, baselineMs] = await timed(() => generate(model, sample, { maxNewTokens }));
  latencyMs.none = baselineMs;
  return {
    preLayer: choice.layer,
    finalLayer: choice.finalLayer,
    candidates: choice.candidates,
    ca: choice.ca,
    preMap: maps[choice.layer],
    finalMap: maps[choice.finalLayer],
    maskedTokens,
    crops,
    baseline,
    refined,
    latencyMs,
    ...varResult,
  };
}
