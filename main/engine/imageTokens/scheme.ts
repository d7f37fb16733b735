/**
 * The contract of an image-token scheme: how a family's images become tokens of the decoder's
 * sequence. The spec names its scheme (ModelSpec.imageTokens, native-models/architectures/types.ts);
 * each kind has one module here implementing this interface, and index.ts chooses it by the kind, so
 * the rest of the engine never branches on it:
 *
 *   openModel       load(config, folder)         → resources the model holds (e.g. a second tokenizer)
 *   prepareSample   prepare(ctx, text, images)   → one layout per image + the sample's scheme state
 *   embedSample     preparedFeatures(state, k) ?? vision graph(visionInputs(ctx, image, state))
 *   analyses        layout(config, image, processor): rectangles, grids, display cells
 *   model view      facts(config)
 *
 * The state is the scheme's own (e.g. the query scheme keeps its instruction ids and the features it
 * computed while preparing); the engine carries it on the sample without reading it.
 */
import { VISION_IO } from '../../../native-models/architectures/contract.ts';
import type { ImageTokenScheme, ModelSpec } from '../../../native-models/architectures/types.ts';
import type { ImageProcessorConfig, ProcessedImage } from '../image/index.ts';
import type { TensorIn, TensorOut } from '../runtime/session.ts';
import type { ImageTokenLayout } from './layout.ts';

/** What the model view shows before any image: the per-image count (null if it varies) and a grid. */
export interface ImageTokenFacts {
  readonly imageTokensPerImage: number | null;
  /** The grid overlays are drawn on (for counts that vary per image, the base image's). */
  readonly imageGrid: { rows: number; cols: number; leadingTokens: number };
}

/** One open model as a scheme sees it. */
export interface SchemeContext<C extends ImageTokenScheme, R = unknown> {
  readonly config: C;
  readonly spec: ModelSpec;
  /** The processor the sample's images came from. */
  readonly imageConfig: ImageProcessorConfig;
  /** What the scheme's `load` returned for this model. */
  readonly resources: R;
  runVision(inputs: Record<string, TensorIn>): Promise<Record<string, TensorOut>>;
}

export interface PreparedImages<S> {
  /** One per image, in prompt order: its placeholder expands to layouts[k].count tokens. */
  readonly layouts: readonly ImageTokenLayout[];
  /** What the later steps of this scheme need (undefined for schemes that need nothing). */
  readonly state: S;
}

/** C: the spec's config for this kind; R: what it loads with the model; S: its per-sample state. */
export interface SchemeModule<C extends ImageTokenScheme, R = undefined, S = undefined> {
  readonly kind: C['kind'];
  facts(config: C): ImageTokenFacts;
  /** Reads what the scheme needs from the model folder beside the checkpoint, once, at open. */
  load(config: C, folder: string): Promise<R>;
  /** One prepared image's layout before any vision pass: geometry only, no model needed. */
  layout(config: C, image: ProcessedImage, processor: ImageProcessorConfig | undefined): ImageTokenLayout;
  /** A sample's images (checked against the tower), after its prompt text is final. */
  prepare(
    ctx: SchemeContext<C, R>,
    text: string,
    images: readonly ProcessedImage[],
  ): Promise<PreparedImages<S>>;
  /** The vision graph's inputs for one of the sample's images. */
  visionInputs(ctx: SchemeContext<C, R>, image: ProcessedImage, state: S): Record<string, TensorIn>;
  /** Image k's features if `prepare` already ran the tower (so it does not run twice). */
  preparedFeatures(state: S, index: number): Float32Array | undefined;
  /** What a trace (the CLI's `trace --json`) records of the sample's state. */
  traceFields(state: S): Readonly<Record<string, unknown>>;
}

/**
 * A scheme whose layouts need only the geometry and that keeps no state: nothing to load, each
 * image's layout computed from its processed pixels, the tower run when the sample is embedded.
 */
export function geometricScheme<C extends ImageTokenScheme>(
  parts: Pick<SchemeModule<C>, 'kind' | 'facts' | 'layout' | 'visionInputs'>,
): SchemeModule<C> {
  return {
    ...parts,
    load: async () => undefined,
    prepare: async (ctx, _text, images) => ({
      layouts: images.map((image) => parts.layout(ctx.config, image, ctx.imageConfig)),
      state: undefined,
    }),
    preparedFeatures: () => undefined,
    traceFields: () => ({}),
  };
}

/** The pixels as one [1, 3, H, W] image: what a single-image tower takes. */
export function pixelInputs(image: ProcessedImage): Record<string, TensorIn> {
  return { [VISION_IO.pixels]: { data: image.pixelValues, dims: [1, 3, image.height, image.width] } };
}
