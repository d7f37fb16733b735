/**
 * A fixed grid (LLaVA-1.5, VIP-LLaVA): `leadingTokens` without extent (a kept CLS), then rows × cols
 * equal cells of the processed image, row by row; every image gives the same count.
 */
import type { FixedGridTokens } from '../../../native-models/architectures/types.ts';
import { processedRectToOriginal, type ProcessedImage, type Rect } from '../image/index.ts';
import type { ImageTokenLayout } from './layout.ts';
import { geometricScheme, pixelInputs } from './scheme.ts';

export const fixedGrid = geometricScheme<FixedGridTokens>({
  kind: 'fixed-grid',
  facts: ({ perImage, rows, cols, leadingTokens }) => ({
    imageTokensPerImage: perImage,
    imageGrid: { rows, cols, leadingTokens },
  }),
  layout: (config, image) => fixedGridLayout(config, image),
  visionInputs: (_ctx, image) => pixelInputs(image),
});

/**
 * `leadingTokens` without extent, then rows × cols equal cells of the processed image, each mapped
 * back through the processor's geometry. Other schemes whose tokens form one grid reuse it.
 */
export function fixedGridLayout(
  grid: Pick<FixedGridTokens, 'rows' | 'cols' | 'leadingTokens'>,
  image: ProcessedImage,
): ImageTokenLayout {
  const { rows, cols, leadingTokens } = grid;
  const patchWidth = image.width / cols;
  const patchHeight = image.height / rows;
  const rects: (Rect | null)[] = new Array(leadingTokens).fill(null);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const processed = { x: c * patchWidth, y: r * patchHeight, width: patchWidth, height: patchHeight };
      rects.push(processedRectToOriginal(image.geometry, processed));
    }
  }
  const cells = Array.from({ length: rows * cols }, (_, i) => leadingTokens + i);
  return {
    count: rects.length,
    rects,
    grids: [{ label: 'patches', rows, cols, cells, cellAspect: patchWidth / patchHeight }],
  };
}
