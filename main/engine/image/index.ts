/** Image loading and preprocessing: Pillow/transformers-exact pixel_values plus pixel geometry. */
export type { RgbImage, Rect, DecodableFormat, ImageDecoder, ImageDecodeInfo } from './types.ts';
export {
  loadImage,
  decodeImage,
  readImageHeader,
  fileDecoder,
  DECODABLE_FORMATS,
  DEFAULT_MAX_PIXELS,
  type LoadImageOptions,
} from './load.ts';
export { resizeImage, resampleFromPilCode, PIL_RESAMPLE_CODES, type Resample } from './resample.ts';
export {
  parsePreprocessorConfig,
  loadPreprocessorConfig,
  preprocessImage,
  PREPROCESSOR_CONFIG_FILE,
} from './preprocess.ts';
export type {
  ImageProcessorConfig,
  ImageProcessorDefinition,
  PreprocessOptions,
  ProcessedImage,
  AnyresImage,
  AnyresPatch,
  FlattenedPatches,
} from './processors/types.ts';
export {
  anyresLayout,
  asLlavaNextConfig,
  DEFAULT_GRID_PINPOINTS,
  type AnyresLayout,
  type AnyresPatchLayout,
  type LlavaNextConfig,
} from './processors/llavaNext.ts';
export {
  selectBestResolution,
  patchOutputSize,
  padForPatching,
  unpaddedGrid,
  intRound7,
  processorFeatureCount,
  type Padding,
  type UnpaddedGrid,
  type ProcessorCountOptions,
} from './anyres.ts';
export {
  smartResize,
  asQwen2VlConfig,
  qwen2VlResizedSize,
  flattenPatches,
  type Qwen2VlConfig,
} from './processors/qwen2vl.ts';
export type { ClipStyleConfig } from './processors/clip.ts';
export type { ResizeSize } from './processors/fields.ts';
export { supportedImageProcessorTypes } from './processors/registry.ts';
export {
  processedRectToOriginal,
  originalRectToProcessed,
  type ImageGeometry,
  type GeometryStep,
} from './geometry.ts';
export {
  shortestEdgeSize,
  centerCrop,
  padToSquare,
  meanColor,
  toPixelValues,
  type Size,
} from './transforms.ts';
