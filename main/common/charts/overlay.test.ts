import { describe, expect, it } from 'vitest';
import { FusionError } from '../errors.ts';
import { sampleColormap } from './colormaps.ts';
import {
  colorbarTicks,
  contrastRanges,
  evenlySpacedLayers,
  formatTick,
  resolveOverlay,
  sharedRange,
} from './overlay.ts';

const rect = (x: number, y: number) => ({ x, y, width: 10, height: 10 });
// token 0 has no rectangle (a CLS-like token); tokens 1..4 form a 2 x 2 grid
const tokenRects = [null, rect(0, 0), rect(10, 0), rect(0, 10), rect(10, 10)];

describe('resolveOverlay', () => {
  it('colours each token with a rectangle over the drawn values range, skipping non-finite values', () => {
    const out = resolveOverlay({ map: [99, 0, 1, NaN, 2], tokenRects, colormap: 'viridis' });
    expect(out.range).toEqual([0, 2]);
    expect(out.cells.map((c) => c.token)).toEqual([1, 2, 4]);
    expect(out.cells[0].rgb).toEqual(sampleColormap('viridis', 0));
    expect(out.cells[1].rgb).toEqual(sampleColormap('viridis', 0.5));
    expect(out.cells[2].rgb).toEqual(sampleColormap('viridis', 1));
  });

  it('resolves noise tokens to their rectangles and keeps boxes', () => {
    const out = resolveOverlay({
      map: [0, 1, 2, 3, 4],
      tokenRects,
      colormap: 'inferno',
      boxes: [[0, 0, 5, 5]],
      noiseTokens: [4],
    });
    expect(out.noise).toEqual([rect(10, 10)]);
    expect(out.boxes).toEqual([[0, 0, 5, 5]]);
  });

  it('rejects malformed input with BAD_ARGUMENT naming the problem', () => {
    const cases: [Parameters<typeof resolveOverlay>[0], RegExp][] = [
      [{ map: [1], tokenRects, colormap: 'viridis' }, /1 values but tokenRects has 5/],
      [{ map: [0, 1, 2, 3, 4], tokenRects, colormap: 'coolwarm', range: [0, 1] }, /min < 0 < max/],
      [{ map: [0, 1, 2, 3, 4], tokenRects, colormap: 'viridis', noiseTokens: [0] }, /token 0/],
      [{ map: [0, 1, 2, 3, 4], tokenRects, colormap: 'viridis', boxes: [[5, 5, 1, 1]] }, /boxes\[0\]/],
    ];
    for (const [input, message] of cases) {
      let error: unknown;
      try {
        resolveOverlay(input);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FusionError);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe('ranges', () => {
  it('share one scale over several maps, ignoring tokens without a rectangle', () => {
    expect(
      sharedRange(
        [
          [50, 0.1, 0.2, 0.3, 0.4],
          [-50, 0.5, 0.2, 0.3, 0.05],
        ],
        tokenRects,
        'viridis',
      ),
    ).toEqual([0.05, 0.5]);
  });

  it('put pre and final on one sequential scale and CA symmetric about 0', () => {
    const r = contrastRanges(
      [0, 0.1, 0.2, 0.3, 0.4],
      [0, 0.3, 0.2, 0.1, 0.6],
      [9, 0.2, 0, -0.2, 0.2],
      tokenRects,
      'viridis',
    );
    expect(r.attention).toEqual([0.1, 0.6]);
    expect(r.ca).toEqual([-0.2, 0.2]);
  });
});

describe('evenlySpacedLayers', () => {
  it('spreads layers over the depth, first and last included', () => {
    expect(evenlySpacedLayers(32, 4)).toEqual([0, 10, 21, 31]);
    expect(evenlySpacedLayers(8, 4)).toEqual([0, 2, 5, 7]);
    expect(evenlySpacedLayers(3, 4)).toEqual([0, 1, 2]);
    expect(evenlySpacedLayers(1, 4)).toEqual([0]);
    expect(evenlySpacedLayers(8, 1)).toEqual([7]);
  });

  it('adds the included layers (fusion, review) once, in order, ignoring layers out of range', () => {
    expect(evenlySpacedLayers(32, 4, [2, 29, 31, 40])).toEqual([0, 2, 10, 21, 29, 31]);
  });
});

describe('colour bar ticks', () => {
  it('label min, middle and max on a sequential map; min, 0 and max on a diverging one', () => {
    expect(colorbarTicks({ colormap: 'viridis', range: [0, 0.5], caption: '' })).toEqual([
      { t: 0, label: '0' },
      { t: 0.5, label: '0.25' },
      { t: 1, label: '0.5' },
    ]);
    expect(colorbarTicks({ colormap: 'coolwarm', range: [-0.1, 0.4], caption: '' }).map((t) => t.t)).toEqual([
      0, 0.5, 1,
    ]);
  });

  it('format ticks compactly with a true minus sign', () => {
    expect(formatTick(-0.123456)).toBe('\u22120.123');
    expect(formatTick(0.0001234)).toBe('1.2e-4');
  });
});
