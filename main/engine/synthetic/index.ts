/** Synthetic visual-QA benchmark with grounding boxes (format: FORMAT.md). */
export type {
  Box,
  Color,
  Family,
  FamilyWeights,
  GenerateOptions,
  Glyph,
  Item,
  PopeSubtype,
  Rgb,
  Scene,
  SceneObject,
  Shape,
  Size,
  Split,
} from './types.ts';
export { ALL_FAMILIES, COLORS, FAMILIES, OPT_IN_FAMILIES, SHAPES, SIZES, SPLITS } from './types.ts';
export {
  generateItems,
  iterateItems,
  DEFAULT_IMAGE_SIZE,
  MIN_IMAGE_SIZE,
  MAX_IMAGE_SIZE,
} from './generate.ts';
export { renderScene, encodePng, type RgbPixels } from './render.ts';
export {
  writeDataset,
  DATASET_FORMAT,
  DATASET_VERSION,
  type WriteOptions,
  type WriteSummary,
  type DatasetManifest,
} from './write.ts';
export { VOCABULARY, VOCABULARY_EXTENDED, tokenize, QUESTION_MARK } from './vocabulary.ts';
export { COLOR_RGB, POPULARITY_RANKING } from './attributes.ts';
export { splitOfScene, canonicalSceneKey } from './scene.ts';
