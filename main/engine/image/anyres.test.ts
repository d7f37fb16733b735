import { describe, expect, it } from 'vitest';

import {
  intRound7,
  padForPatching,
  patchOutputSize,
  processorFeatureCount,
  selectBestResolution,
  unpaddedGrid,
} from './anyres.ts';
import { readLlavaNextSizes } from './fixtures/read.ts';

const sizesFixture = readLlavaNextSizes();

describe('intRound7 = Python int(round(x, 7))', () => {
  it(`agrees on ${sizesFixture.round7.length} values, including both sides of the 5e-8 boundary`, () => {
    const wrong = sizesFixture.round7.filter(([x, want]) => intRound7(x) !== want);
    expect(wrong).toEqual([]);
    expect(sizesFixture.round7.filter(([x, want]) => Math.trunc(x) !== want).length).toBeGreaterThan(50);
  });
});

describe('any-resolution sizes match the Python restatement of transformers', () => {
  for (const [name, c] of Object.entries(sizesFixture.configs)) {
    it(`${name}: best resolution, resize, padding, grid, unpad and processor count for ${c.sizes.length} sizes`, () => {
      const pinpoints = c.pinpoints.map(([height, width]) => ({ height, width }));
      const side = Math.floor(c.cropSize / c.patchSize);
      let checked = 0;
      for (const row of c.sizes) {
        const [h, w, bh, bw, rh, rw, pt, pb, pl, pr, gr, gc, ut, ul, ur, uc, , processorCount] = row;
        const size = { height: h, width: w };
        const best = selectBestResolution(size, pinpoints);
        const resized = patchOutputSize(size, best);
        const got = [
          best.height,
          best.width,
          resized.height,
          resized.width,
          ...Object.values(padForPatching(resized, best)),
          best.height / c.cropSize,
          best.width / c.cropSize,
          ...Object.values(
            unpaddedGrid(size, {
              height: (best.height / c.cropSize) * side,
              width: (best.width / c.cropSize) * side,
            }),
          ),
          processorFeatureCount(size, {
            pinpoints,
            tile: { height: c.cropSize, width: c.cropSize },
            patchSize: c.patchSize,
            numAdditionalImageTokens: c.clsTokens,
            featureSelectStrategy: c.featureSelectStrategy,
          }),
        ];
        expect(got, `${h}x${w}`).toEqual([
          bh,
          bw,
          rh,
          rw,
          pt,
          pb,
          pl,
          pr,
          gr,
          gc,
          ut,
          ul,
          ur,
          uc,
          processorCount,
        ]);
        checked++;
      }
      expect(checked).toBeGreaterThan(500);
    });
  }

  it('covers extreme aspect ratios, exact pinpoints and 1-pixel images', () => {
    const sizes = sizesFixture.configs['llava-v1.6'].sizes.map((r) => `${r[0]}x${r[1]}`);
    for (const s of ['1x2000', '2000x1', '1x1', '336x672', '672x672', '1008x336', '4001x1']) {
      expect(sizes).toContain(s);
    }
  });
});

describe('select_best_resolution tie rules', () => {
  const p = (height: number, width: number) => ({ height, width });
  it('prefers the larger effective resolution, then the smaller waste, then the earlier pinpoint', () => {
    // 1000 x 1000: 672 x 672 keeps 451,584 pixels; the 336 x 1008 strips keep less.
    expect(selectBestResolution(p(1000, 1000), [p(336, 1008), p(672, 672), p(1008, 336)])).toEqual(
      p(672, 672),
    );
    // 100 x 100 fits fully everywhere (effective = 10,000): least waste wins.
    expect(selectBestResolution(p(100, 100), [p(672, 672), p(336, 672), p(672, 336)])).toEqual(p(336, 672));
    // equal waste: the first listed stays.
    expect(selectBestResolution(p(100, 100), [p(672, 336), p(336, 672)])).toEqual(p(672, 336));
    // 2000 x 1: every fit truncates to 0 pixels wide, so the least waste decides.
    expect(selectBestResolution(p(2000, 1), [p(1008, 336), p(336, 672)])).toEqual(p(336, 672));
  });
});
