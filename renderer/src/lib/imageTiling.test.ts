import { describe, expect, it } from 'vitest';

import { imageTiling } from './imageTiling.ts';

describe('imageTiling', () => {
  it('reads the tile grids and the largest token count off a LLaVA-NeXT summary', () => {
    const tiling = imageTiling({ imageGridPinpoints: '28x56,56x56,84x28', imageSize: 28, patchSize: 7 });
    expect(tiling?.tileSize).toBe(28);
    expect(tiling?.grids.map((g) => [g.rows, g.cols])).toEqual([
      [1, 2],
      [2, 2],
      [3, 1],
    ]);
    // 4 × 4 base + 2 × 2 tiles: 8 rows of 8 tokens and a newline.
    expect(tiling?.maxTokens).toBe(16 + 8 * 9);
  });

  it('matches llava-v1.6 (336 px tiles of 14 px patches, up to 2 × 2 tiles): 2,928 tokens', () => {
    const pinpoints = '336x672,672x336,672x672,1008x336,336x1008';
    expect(imageTiling({ imageGridPinpoints: pinpoints, imageSize: 336, patchSize: 14 })?.maxTokens).toBe(
      576 + 48 * 49,
    );
  });

  it('is null for fixed-grid models and unreadable pinpoints', () => {
    expect(imageTiling({ imageSize: 336, patchSize: 14 })).toBeNull();
    expect(imageTiling({ imageGridPinpoints: '336 by 672', imageSize: 336, patchSize: 14 })).toBeNull();
    expect(imageTiling({ imageGridPinpoints: '300x672', imageSize: 336, patchSize: 14 })).toBeNull();
  });
});
