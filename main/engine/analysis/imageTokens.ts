/**
 * Image-token geometry as analyses read it: each prepared image's layout (where its tokens sit in the
 * original image) comes from the model's image-token scheme (../imageTokens/), and box metrics
 * measure attention over its rectangles. The layout types and functions are re-exported here, where
 * analyses, figures and the app have always imported them.
 */
import type { Rect } from '../image/index.ts';

export { fixedGridLayout } from '../imageTokens/fixedGrid.ts';
export { imageTokenLayout } from '../imageTokens/index.ts';
export {
  displayCells,
  toDisplayMap,
  type DisplayCells,
  type ImageTokenLayout,
  type TokenGrid,
} from '../imageTokens/layout.ts';

/** Box as [x0, y0, x1, y1] in original-image pixels (the dataset convention). */
export type Box = readonly [number, number, number, number];

function overlapArea(rect: Rect, box: Box): number {
  const w = Math.min(rect.x + rect.width, box[2]) - Math.max(rect.x, box[0]);
  const h = Math.min(rect.y + rect.height, box[3]) - Math.max(rect.y, box[1]);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Per token, the fraction of its rectangle the union of `boxes` covers (boxes assumed disjoint, as a
 * dataset's objects are); 0 for tokens without a place in the image.
 */
export function boxCoverage(rects: readonly (Rect | null)[], boxes: readonly Box[]): Float64Array {
  return Float64Array.from(rects, (rect) => {
    if (!rect) return 0;
    const covered = boxes.reduce((sum, box) => sum + overlapArea(rect, box), 0);
    return Math.min(1, covered / (rect.width * rect.height));
  });
}

/** Σ attentionᵢ · coverageᵢ over attention renormalised to sum 1 (0 for an all-zero map). */
export function massUnderCoverage(attention: ArrayLike<number>, coverage: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < attention.length; i++) total += attention[i];
  if (total <= 0) return 0;
  let inside = 0;
  for (let i = 0; i < coverage.length; i++) inside += (attention[i] / total) * coverage[i];
  return inside;
}

/**
 * Attention mass inside the union of `boxes`: each token contributes its attention times the fraction
 * of its rectangle the boxes cover. Attention is renormalised over the image tokens first, as the
 * paper's A^(l) is.
 */
export function attentionMassInBoxes(
  attention: ArrayLike<number>,
  rects: readonly (Rect | null)[],
  boxes: readonly Box[],
): number {
  return massUnderCoverage(attention, boxCoverage(rects, boxes));
}
