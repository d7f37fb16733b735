/** Data types of the synthetic visual-QA benchmark. The JSON shapes here are the on-disk contract (FORMAT.md). */

export const SHAPES = ['circle', 'square', 'triangle', 'diamond'] as const;
export type Shape = (typeof SHAPES)[number];

export const COLORS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'] as const;
export type Color = (typeof COLORS)[number];

export const SIZES = ['small', 'large'] as const;
export type Size = (typeof SIZES)[number];

/** The default families: a dataset written without family weights asks exactly these. */
export const FAMILIES = ['color', 'shape', 'count', 'exist', 'spatial', 'glyph'] as const;
/**
 * Opt-in families (relational, two-step and absolute-position questions): weight 0 unless named in `familyWeights`, and
 * appended after the default ones, so every default stream (and every dataset written before they
 * existed) stays byte-identical.
 */
export const OPT_IN_FAMILIES = ['relate', 'twostep', 'locate'] as const;
/** Every family, in canonical order (the order of the weights vector and of manifests' `families`). */
export const ALL_FAMILIES = [...FAMILIES, ...OPT_IN_FAMILIES] as const;
export type Family = (typeof ALL_FAMILIES)[number];

export const SPLITS = ['train', 'val', 'test'] as const;
export type Split = (typeof SPLITS)[number];

/** POPE negative-sampling strategies; only `exist` items answered "no" carry one. */
export type PopeSubtype = 'random' | 'popular' | 'adversarial';

/** [x0, y0, x1, y1] in image pixels, x0/y0 inclusive, x1/y1 exclusive. */
export type Box = [number, number, number, number];

export type Rgb = [number, number, number];

export interface Glyph {
  /** The drawn character: 'A'..'Z' or '0'..'9' (answers use it lowercased). */
  char: string;
  kind: 'letter' | 'digit';
  /** Ink chosen for contrast with the object's colour. */
  ink: 'black' | 'white';
  /** Integer scale of the 5x7 bitmap font. */
  scale: number;
  /** Tight box of the glyph's ink pixels. */
  box: Box;
}

export interface SceneObject {
  id: number;
  shape: Shape;
  color: Color;
  size: Size;
  glyph: Glyph | null;
  /** Tight box of the object's pixels (glyph included, since it lies inside). */
  box: Box;
  /** Square cell the shape is inscribed in; rendering is a pure function of (shape, cell). */
  cell: Box;
  /** Centre of the cell in pixels (used for spatial relations). */
  center: [number, number];
}

export interface Scene {
  imageSize: number;
  background: Rgb;
  objects: SceneObject[];
}

export interface Item {
  id: string;
  image: string;
  question: string;
  answers: string[];
  family: Family;
  subtype: PopeSubtype | null;
  boxes: Box[];
  scene: Scene;
}

export type FamilyWeights = Partial<Record<Family, number>>;

export interface GenerateOptions {
  seed: number;
  split: Split;
  count: number;
  imageSize?: number;
  familyWeights?: FamilyWeights;
  /**
   * Questions asked of each image (default 1). Above 1, `count` counts images, and each image's
   * questions are about disjoint regions, for contrasting one question's attention with another's on
   * the same image.
   */
  questionsPerImage?: number;
  /**
   * Which questions an image with several may be asked (default `disjoint`, as above). `any`: up to
   * `questionsPerImage` distinct questions of any family, box-less ones included (POPE negatives,
   * counts of zero), regions free to overlap: the shared-image groups a trainer packs into one
   * sequence, several answers per pass over the image.
   */
  questionRegions?: QuestionRegions;
}

export const QUESTION_REGIONS = ['disjoint', 'any'] as const;
export type QuestionRegions = (typeof QUESTION_REGIONS)[number];
