import { describe, expect, it } from 'vitest';

import { checkAttentionFits } from './mergedPatches.ts';

describe('checkAttentionFits', () => {
  const GiB = 2 ** 30;

  it('lets an image through when (heads + 1) × N² float32 fit in a quarter of memory', () => {
    // 16 heads, 4096 patches: 17 × 4096² × 4 B = 1.06 GiB, a quarter of 8 GiB is 2 GiB.
    expect(() => checkAttentionFits(4096, 16, 8 * GiB)).not.toThrow();
  });

  it('refuses one whose attention would not, naming the patches, the size and the fix', () => {
    // Qwen2-VL's default max_pixels allows 16384 patches: 17 × 16384² × 4 B = 17 GiB.
    expect(() => checkAttentionFits(16384, 16, 24 * GiB)).toThrow(
      /16384 vision patches, whose attention needs 17\.0 GiB, more than a quarter of this machine's 24 GiB; lower max_pixels/,
    );
  });
});
