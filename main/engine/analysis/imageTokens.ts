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
 * Attention mass inside the union of `boxes`: each token contributes its attention times the fraction
 * of its rectangle the boxes cover (boxes assumed disjoint, as a dataset's objects are). Attention is
 * renormalised over the image tokens first, as the paper's A^(l) is.
 */
export function attentionMassInBoxes(
  attention: ArrayLike<number>,
  rects: readonly (Rect | null)[],
  boxes: readonly Box[],
): number {
  let total = 0;
  for (let i = 0; i < attention.length; i++) total += attention[i];
  if (total <= 0) return 0;
  let inside = 0;
  rects.forEach((rect, i) => {
    if (!rect) return;
    const covered = boxes.reduce((sum, box) => sum + overlapArea(rect, box), 0);
    inside += (attention[i] / total) * Math.min(1, covered / (rect.width * rect.height));
  });
  return inside;
}
