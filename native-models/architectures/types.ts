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
  /**
   * True when config.json names no image token and imageTokenId is a stand-in whose rows the image
   * features overwrite (legacy InstructBLIP): the tokenizer's own placeholder id then plays no part.
   */
  readonly imageTokenIdIsStandIn?: boolean;
  /** The token a raw prompt marks each image with (e.g. "<image>", Qwen's "<|image_pad|>"). */
  readonly imagePlaceholder: string;
  /**
   * Where an image's tokens go: at its placeholder (LLaVA, Qwen), or before the whole prompt, BOS
   * included, with no placeholder in the text (InstructBLIP's query tokens; a placeholder is an error).
   */
  readonly imagePlacement: 'placeholder' | 'prefix';
  /**
   * The prompt for a question when the tokenizer carries no chat template: `{images}` (the images'
   * markup, one `imageMarkup` per image, joined by newlines) and `{question}`.
   */
  readonly questionTemplate: string;
  /** One image's markup in a prompt (LLaVA "<image>", Qwen "<|vision_start|><|image_pad|><|vision_end|>"). */
  readonly imageMarkup: string;
  /**
   * How rotary positions are assigned: 'sequential' (token i at i) or 'mrope' (Qwen2-VL: temporal,
   * height and width streams; an image's tokens take their grid coordinates, text resumes after the
   * largest, see main/engine/inference/positions.ts).
   */
  readonly positionScheme: 'sequential' | 'mrope';
  /**
   * Rotary positions the language model has (max_position_embeddings): a prompt needing more is
   * refused before anything is allocated for it.
   */
  readonly maxPositions: number;
  /** How the family lays out an image's tokens (the engine turns it into a per-image layout). */
  readonly imageTokens: ImageTokenScheme;
  /** Input resolution of the vision tower. */
  readonly imageSize: { readonly height: number; readonly width: number };
  /** Keys further than this many positions back are masked (Mistral); undefined = none. */
  readonly slidingWindow: number | undefined;
  /**
   * cos/sin tables [rows, headDim] for the decoder graphs. `streams` holds one position array per
   * stream, each `rows` long: one stream for 1-D RoPE; three (temporal, height, width) for M-RoPE,
   * where one stream means text-only rows (all three equal).
   */
  ropeTables(streams: RotaryPositions): { cos: Float32Array; sin: Float32Array };
  /**
   * Vision-graph inputs a family derives from an image's patch grid (Qwen: the vision tower's 2-D
   * rotary tables and window order); only 'merged-patches' families have it.
   */
  visionGridInputs?(grid: PatchGrid): Record<string, GraphTensor>;
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

/**
 * Qwen2-VL / Qwen2.5-VL: the processor resizes each image to its own multiple of patch × merge pixels
 * (smart_resize), the tower sees its patches, and every merge × merge block of patches becomes one
 * token, so an image gives (h / merge) × (w / merge) tokens in raster order.
 */
export interface MergedPatchTokens {
  readonly kind: 'merged-patches';
  readonly patchSize: number;
  readonly mergeSize: number;
  readonly temporalPatchSize: number;
  /** The tower attends over all of an image's patches at once: heads × N² scores per block. */
  readonly visionHeads: number;
}

/**
 * InstructBLIP: `count` learned query tokens from the Q-Former, which has read the image and the
 * instruction. They have no place in the image; overlays go through the Q-Former's cross-attention
 * to the `rows × cols` patch grid of the `imageSize` input (see main/engine/analysis/queryTokens.ts).
 */
export interface QueryTokens {
  readonly kind: 'queries';
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** The Q-Former's position table (max_position_embeddings) bounds the instruction's length. */
  readonly maxInstructionTokens: number;
}

export type ImageTokenScheme = FixedGridTokens | AnyresTokens | MergedPatchTokens | QueryTokens;

/** Position streams, each as long as the rows they position (see ModelSpec.ropeTables). */
export type RotaryPositions = readonly (readonly number[])[];

/** An image's patch grid as the vision tower sees it: temporal × height × width patches. */
export interface PatchGrid {
  readonly t: number;
  readonly h: number;
  readonly w: number;
}

/** A tensor handed to a graph: float32 or int64 data with its dims. */
export interface GraphTensor {
  readonly data: Float32Array | BigInt64Array;
  readonly dims: readonly number[];
}

export interface BuiltModel {
  readonly graphs: ModelGraphs;
  /** Checkpoint tensors no graph reads and that are not known to be unused by design. */
  readonly unexpectedTensors: readonly string[];
}

export interface Architecture {
  readonly modelType: string;
  parse(config: unknown, source: string): ModelSpec;
}
