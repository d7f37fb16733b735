/** Contracts shared by every image processor and the registry. */
import type { ImageGeometry } from '../geometry.ts';
import type { Size } from '../transforms.ts';
import type { RgbImage } from '../types.ts';
import type { ConfigReader } from './fields.ts';

/** A parsed preprocessor_config.json: immutable, every field defaulted. Processors extend it. */
export interface ImageProcessorConfig {
  /** Canonical processor name (the registry key), e.g. "CLIPImageProcessor". */
  readonly type: string;
  /** The type as the file named it (image_processor_type, feature_extractor_type or processor_class). */
  readonly declaredType: string;
  /** Where the config came from, used in later error messages. */
  readonly source: string;
}

export interface PreprocessOptions {
  /**
   * 'mean-color': pad to a square with tuple(int(x * 255) for x in image_mean) before anything else,
   * as the original LLaVA-1.5 code (expand2square) does. Default 'none'; never applied implicitly.
   */
  readonly padToSquare?: 'none' | 'mean-color';
}

export interface ProcessedImage {
  /** Channels-first (3, height, width) float32, as transformers' pixel_values[0]. */
  readonly pixelValues: Float32Array;
  readonly channels: 3;
  readonly height: number;
  readonly width: number;
  readonly geometry: ImageGeometry;
  /**
   * Any-resolution processors (LlavaNextImageProcessor): every image the vision tower sees, base first
   * (also given by the fields above), then the tiles row by row. Absent for single-image processors.
   */
  readonly anyres?: AnyresImage;
  /**
   * Patch processors (Qwen2VLImageProcessor): the image as the tower takes it, flattened patches. The
   * fields above then describe the resized image (height, width = h, w patches × patch size).
   */
  readonly patches?: FlattenedPatches;
}

/**
 * transformers' Qwen2-VL pixel_values for one image: t × h × w patches of patchWidth = channels ×
 * temporal patch × patch × patch values each, rows ordered (t, h / merge, w / merge, merge, merge)
 * so every merge × merge block is consecutive; image_grid_thw is [t, h, w].
 */
export interface FlattenedPatches {
  readonly t: number;
  readonly h: number;
  readonly w: number;
  readonly patchWidth: number;
  /** [t·h·w, patchWidth] row-major. */
  readonly values: Float32Array;
}

/** One image of an any-resolution input, as transformers' pixel_values[0][i]. */
export interface AnyresPatch {
  readonly kind: 'base' | 'tile';
  /** Tile row and column in the grid (0, 0 for the base). */
  readonly row: number;
  readonly col: number;
  /** Channels-first (3, height, width) float32. */
  readonly pixelValues: Float32Array;
  readonly channels: 3;
  readonly height: number;
  readonly width: number;
  readonly geometry: ImageGeometry;
}

export interface AnyresImage {
  /** transformers' image_sizes entry: the original (height, width). */
  readonly imageSize: Size;
  /** The pinpoint select_best_resolution chose. */
  readonly bestResolution: Size;
  /** Tiles per column and per row (bestResolution / tile size). */
  readonly grid: { readonly rows: number; readonly cols: number };
  /** [base, tile(0,0), tile(0,1), ...]: 1 + rows * cols patches. */
  readonly patches: readonly AnyresPatch[];
}

export interface ImageProcessorDefinition {
  /** Canonical type, as written in image_processor_type. */
  readonly type: string;
  /**
   * Other image_processor_type values read as this processor. Names ending in "Fast" are transformers'
   * torchvision variants: they share the config, but we always run the PIL pipeline (see README).
   */
  readonly aliases: readonly string[];
  /** processor_class values implying this processor when the file names no image processor type. */
  readonly processorClasses: readonly string[];
  parse(reader: ConfigReader, declaredType: string): ImageProcessorConfig;
  preprocess(img: RgbImage, config: ImageProcessorConfig, options: PreprocessOptions): ProcessedImage;
}
