import { describe, expect, it } from 'vitest';

import { FusionError } from '../../common/errors.ts';
import { imageTokenLayout, type ImageTokenLayout } from '../analysis/imageTokens.ts';
import { parsePreprocessorConfig, preprocessImage } from '../image/index.ts';
import { rowPositions, samplePositions } from './positions.ts';

const mrope = { positionScheme: 'mrope' } as const;

/** The layout Qwen2-VL gives an image of `width` × `height` pixels (patch 4, merge 2, no resize). */
function qwenLayout(width: number, height: number): ImageTokenLayout {
  const config = parsePreprocessorConfig(
    { image_processor_type: 'Qwen2VLImageProcessor', patch_size: 4, merge_size: 2, do_resize: false },
    'qwen',
  );
  const image = preprocessImage({ width, height, data: new Uint8Array(width * height * 3) }, config);
  const spec = {
    imageTokens: { kind: 'merged-patches', patchSize: 4, mergeSize: 2, temporalPatchSize: 2, visionHeads: 4 },
  } as const;
  return imageTokenLayout(spec, image, config);
}

/** A bare grid layout (positions read only the first grid's shape). */
function grid(rows: number, cols: number): ImageTokenLayout {
  const cells = Array.from({ length: rows * cols }, (_, i) => i);
  return {
    count: rows * cols,
    rects: cells.map(() => null),
    grids: [{ label: 'merged patches', rows, cols, cells, cellAspect: 1 }],
  };
}

// The expected streams below are transformers' Qwen2VLModel.get_rope_index for still images, worked
// by hand: text before an image counts on from the last position (st_idx = previous max + 1) in all
// three streams; image token (r, c) of an image starting at s is (s, s + r, s + c); text after it
// starts at the image's largest position + 1 = s + max(rows, cols). Cross-checked with a torch
// restatement of get_rope_index (arange / expand / stack, as the original) during development.
// Generation continues at max + 1 (position = cache position + rope_deltas, rope_deltas = max + 1 − T).
describe('samplePositions, M-RoPE (get_rope_index for still images)', () => {
  it('text, an image with a 2 × 3 merged grid, text', () => {
    // tokens: 3 text, 6 image (rows 2, cols 3), 2 text; the image comes from a 24 × 16 picture
    const layout = qwenLayout(24, 16);
    expect([layout.grids[0].rows, layout.grids[0].cols]).toEqual([2, 3]);
    const p = samplePositions(mrope, 11, [[3, 9]], [layout]);
    expect(p.streams).toEqual([
      [0, 1, 2, 3, 3, 3, 3, 3, 3, 6, 7],
      [0, 1, 2, 3, 3, 3, 4, 4, 4, 6, 7],
      [0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7],
    ]);
    // max position 7: generation goes on at 8 (rope_deltas = 8 − 11 = −3)
    expect(p.next).toBe(8);
    expect(rowPositions(p, 9, 4)).toEqual([
      [6, 7, 8, 9],
      [6, 7, 8, 9],
      [6, 7, 8, 9],
    ]);
    expect(rowPositions(p, 4, 2)).toEqual([
      [3, 3],
      [3, 3],
      [4, 5],
    ]);
  });

  it('two images: a 2 × 3 grid, one text token, a tall 3 × 1 grid', () => {
    // tokens: 2 text, image A (6), 1 text, image B (3), 2 text = 14
    const p = samplePositions(
      mrope,
      14,
      [
        [2, 8],
        [9, 12],
      ],
      [qwenLayout(24, 16), qwenLayout(8, 24)],
    );
    expect(p.streams).toEqual([
      [0, 1, 2, 2, 2, 2, 2, 2, 5, 6, 6, 6, 9, 10],
      [0, 1, 2, 2, 2, 3, 3, 3, 5, 6, 7, 8, 9, 10],
      [0, 1, 2, 3, 4, 2, 3, 4, 5, 6, 6, 6, 9, 10],
    ]);
    expect(p.next).toBe(11);
    expect(rowPositions(p, 14, 1)).toEqual([[11], [11], [11]]);
  });

  it('an image first and adjacent images: no text between, the next image starts past the last', () => {
    // 1 text, image A 2 × 2, image B 1 × 2, 1 text
    const p = samplePositions(
      mrope,
      8,
      [
        [1, 5],
        [5, 7],
      ],
      [grid(2, 2), grid(1, 2)],
    );
    expect(p.streams).toEqual([
      [0, 1, 1, 1, 1, 3, 3, 5],
      [0, 1, 1, 2, 2, 3, 3, 5],
      [0, 1, 2, 1, 2, 3, 4, 5],
    ]);
    expect(p.next).toBe(6);
    // a prompt that is only an image: next = max + 1 = 2
    const only = samplePositions(mrope, 4, [[0, 4]], [grid(2, 2)]);
    expect(only.streams).toEqual([
      [0, 0, 0, 0],
      [0, 0, 1, 1],
      [0, 1, 0, 1],
    ]);
    expect(only.next).toBe(2);
    expect(rowPositions(only, 3, 3)).toEqual([
      [0, 2, 3],
      [1, 2, 3],
      [1, 2, 3],
    ]);
  });

  it('text only: all three streams 0..T−1', () => {
    const p = samplePositions(mrope, 4, [], []);
    expect(p.streams).toEqual([
      [0, 1, 2, 3],
      [0, 1, 2, 3],
      [0, 1, 2, 3],
    ]);
    expect(p.next).toBe(4);
  });

  it('refuses an image whose tokens do not form its grid', () => {
    let error: unknown;
    try {
      samplePositions(mrope, 10, [[2, 8]], [grid(2, 2)]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FusionError);
    expect((error as FusionError).code).toBe('BAD_CONFIG');
    expect((error as FusionError).message).toMatch(/image 0's tokens.*6 tokens are laid out as 2×2/);
    expect(() =>
      samplePositions(mrope, 4, [[0, 4]], [{ count: 4, rects: [null, null, null, null], grids: [] }]),
    ).toThrow(/no grid/);
  });
});

describe('samplePositions, sequential', () => {
  it('numbers tokens 0..T−1 in one stream, images included, and continues past the prompt', () => {
    const p = samplePositions({ positionScheme: 'sequential' }, 5, [[1, 4]], [grid(1, 3)]);
    expect(p.streams).toEqual([[0, 1, 2, 3, 4]]);
    expect(p.next).toBe(5);
    expect(rowPositions(p, 3, 4)).toEqual([[3, 4, 5, 6]]);
  });
});
