/**
 * What every architecture module provides: a parsed, immutable description of the checkpoint and the
 * graphs of the shared contract. The engine only ever talks to this interface, so adding a family is
 * one new file plus one registry line.
 */
import type { DecoderShape, ModelGraphs } from './contract.ts';

export interface ModelSpec {
  /** config.json model_type, e.g. "llava". */
  readonly modelType: string;
  readonly decoder: DecoderShape;
  /** Token id that marks image positions in the expanded sequence. */
  readonly imageTokenId: number;
  /** The placeholder a raw prompt uses for the image (e.g. "<image>"). */
  readonly imagePlaceholder: string;
  /** How the family lays out an image's tokens (the engine turns it into a per-image layout). */
  readonly imageTokens: ImageTokenScheme;
  /** Input resolution of the vision tower. */
  readonly imageSize: { readonly height: number; readonly width: number };
  /** Keys further than this many positions back are masked (Mistral); undefined = none. */
  readonly slidingWindow: number | undefined;
  /** cos/sin tables [positions, headDim] for the decoder graphs. */
  ropeTables(positions: readonly number[]): { cos: Float32Array; sin: Float32Array };
  /** Human-readable facts for `fusionscope info` and the app's model view. */
  readonly summary: Readonly<Record<string, string | number | boolean>>;
  /** Builds the graphs for a checkpoint whose tensor names are `checkpointNames`. */
  build(checkpointNames: readonly string[]): BuiltModel;
}

/**
 * Every image gives the same tokens (LLaVA-1.5, VIP-LLaVA): `leadingTokens` without spatial extent (a
 * kept CLS), then a rows × cols patch grid over the processed image, row by row. The only place a
 * family states a token count up front; per-image token facts come from the engine's
 * `imageTokenLayout(spec, processedImage)` (main/engine/analysis/imageTokens.ts), which every consumer
 * reads, so a family whose count varies per image (LLaVA-NeXT) is one more member of this union.
 */
export interface FixedGridTokens {
  readonly kind: 'fixed-grid';
  /** leadingTokens + rows × cols */
  readonly perImage: number;
  readonly rows: number;
  readonly cols: number;
  readonly leadingTokens: number;
}

/**
 * LLaVA-NeXT's any-resolution tokens: the base image's side × side grid, then the tiles' features cut
 * to the original aspect ratio with an image_newline after each row, so the count varies per image.
 * The engine lays them out with nextImageTokenMap (main/engine/analysis/nextTokenMap.ts) from these
 * facts and the processor config, which must agree with `pinpoints` and `tileSize`.
 */
export interface AnyresTokens {
  readonly kind: 'anyres';
  /** vision_config.patch_size; a tile gives (tileSize / patchSize)² features. */
  readonly patchSize: number;
  /** vision_config.image_size: the base image's and every tile's side. */
  readonly tileSize: number;
  readonly featureSelectStrategy: 'default' | 'full';
  /** Tokens the vision tower emits before its patch grid (1: CLIP's CLS). */
  readonly clsTokens: number;
  readonly imageNewline: boolean;
  /** config.json's image_grid_pinpoints as { height, width }. */
  readonly pinpoints: readonly { readonly height: number; readonly width: number }[];
}

export type ImageTokenScheme = FixedGridTokens | AnyresTokens;

export interface BuiltModel {
  readonly graphs: ModelGraphs;
  /** Checkpoint tensors no graph reads and that are not known to be unused by design. */
  readonly unexpectedTensors: readonly string[];
}

export interface Architecture {
  readonly modelType: string;
  parse(config: unknown, source: string): ModelSpec;
}
