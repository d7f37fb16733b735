/**
 * ImageTokenScheme kind → scheme module (the contract is scheme.ts). Adding a scheme is one module
 * and one line in BY_KIND; the spec chooses it, as native-models' registry chooses architectures.
 */
import { VISION_IO } from '../../../native-models/architectures/contract.ts';
import type { ImageTokenScheme, ModelSpec } from '../../../native-models/architectures/types.ts';
import { FusionError } from '../../common/errors.ts';
import type { ImageProcessorConfig, ProcessedImage } from '../image/index.ts';
import type { Session, TensorIn } from '../runtime/session.ts';
import { anyres } from './anyres.ts';
import { fixedGrid } from './fixedGrid.ts';
import type { ImageTokenLayout } from './layout.ts';
import { mergedPatches } from './mergedPatches.ts';
import { queries } from './queries.ts';
import type { ImageTokenFacts, PreparedImages, SchemeContext, SchemeModule } from './scheme.ts';

type Kind = ImageTokenScheme['kind'];
type AnyScheme = SchemeModule<ImageTokenScheme, unknown, unknown>;

// Typed per kind, so a kind without a module (or a module under the wrong kind) does not compile.
const BY_KIND: {
  readonly [K in Kind]: SchemeModule<Extract<ImageTokenScheme, { kind: K }>, unknown, unknown>;
} = { 'fixed-grid': fixedGrid, anyres, 'merged-patches': mergedPatches, queries };

const SCHEMES: ReadonlyMap<string, AnyScheme> = new Map(Object.entries(BY_KIND) as [Kind, AnyScheme][]);

export const IMAGE_TOKEN_SCHEMES: readonly string[] = [...SCHEMES.keys()];

/** The module for a spec's image-token scheme. */
export function schemeFor(config: { readonly kind: unknown }): AnyScheme {
  const found = typeof config.kind === 'string' ? SCHEMES.get(config.kind) : undefined;
  if (!found) {
    throw new FusionError(
      'BAD_CONFIG',
      `no image-token scheme ${JSON.stringify(config.kind)} (known: ${IMAGE_TOKEN_SCHEMES.join(', ')})`,
    );
  }
  return found;
}

/**
 * The layout `spec`'s scheme gives the prepared `image`; schemes that depend on the processor (tile
 * pinpoints, patch sizes) need the config `image` came from.
 */
export function imageTokenLayout(
  spec: Pick<ModelSpec, 'imageTokens'>,
  image: ProcessedImage,
  processor?: ImageProcessorConfig,
): ImageTokenLayout {
  return schemeFor(spec.imageTokens).layout(spec.imageTokens, image, processor);
}

/** What the spec's scheme reads from the model folder beside the checkpoint (LoadedModel holds it). */
export function loadSchemeResources(spec: ModelSpec, folder: string): Promise<unknown> {
  return schemeFor(spec.imageTokens).load(spec.imageTokens, folder);
}

/**
 * Refuses a processed image the vision tower cannot take: every image it sees (an any-resolution
 * image's base and tiles, or the image itself) must be the tower's size. Flattened patches are taken
 * at any size their processor makes.
 */
export function checkTowerSize(spec: Pick<ModelSpec, 'imageSize'>, image: ProcessedImage): void {
  const { height, width } = spec.imageSize;
  for (const seen of image.patches ? [] : (image.anyres?.patches ?? [image])) {
    if (seen.height !== height || seen.width !== width) {
      throw new FusionError(
        'BAD_CONFIG',
        `preprocessor_config.json produces ${seen.width}×${seen.height} images but the vision tower expects ${width}×${height}`,
      );
    }
  }
}

/**
 * One open model's image tokens: its spec's scheme module bound to the config, the resources it
 * loaded and the vision session. Samples carry the state `prepare` returns and hand it back here.
 */
export class ImageTokens {
  readonly kind: Kind;
  private readonly scheme: AnyScheme;
  private readonly ctx: SchemeContext<ImageTokenScheme>;

  constructor(
    spec: ModelSpec,
    imageConfig: ImageProcessorConfig,
    vision: Pick<Session, 'run'>,
    resources: unknown,
  ) {
    this.scheme = schemeFor(spec.imageTokens);
    this.kind = spec.imageTokens.kind;
    this.ctx = {
      config: spec.imageTokens,
      spec,
      imageConfig,
      resources,
      runVision: (inputs) => vision.run(inputs),
    };
  }

  facts(): ImageTokenFacts {
    return this.scheme.facts(this.ctx.config);
  }

  /** Layouts of a sample's images (in prompt order) and the scheme's state for the later steps. */
  prepare(text: string, images: readonly ProcessedImage[]): Promise<PreparedImages<unknown>> {
    return this.scheme.prepare(this.ctx, text, images);
  }

  visionInputs(image: ProcessedImage, state: unknown): Record<string, TensorIn> {
    return this.scheme.visionInputs(this.ctx, image, state);
  }

  /** Image `index`'s projected features [tokens × hidden]: kept from `prepare`, or the tower run now. */
  async features(image: ProcessedImage, index: number, state: unknown): Promise<ArrayLike<number>> {
    const kept = this.scheme.preparedFeatures(state, index);
    if (kept) return kept;
    const out = await this.ctx.runVision(this.visionInputs(image, state));
    return out[VISION_IO.features].data;
  }

  traceFields(state: unknown): Readonly<Record<string, unknown>> {
    return this.scheme.traceFields(state);
  }
}
