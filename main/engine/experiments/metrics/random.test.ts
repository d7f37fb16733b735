import { describe, expect, it } from 'vitest';

import { SeededRandom } from './random.ts';

describe('SeededRandom (mulberry32)', () => {
  it('reproduces pinned outputs, so a stored bootstrap interval is the same on every machine', () => {
    const rng = new SeededRandom(0);
    expect(Array.from({ length: 4 }, () => rng.next())).toEqual([
      0.26642920868471265, 0.0003297457005828619, 0.2232720274478197, 0.1462021479383111,
    ]);
    const ints = new SeededRandom(42);
    expect(Array.from({ length: 6 }, () => ints.int(10))).toEqual([6, 4, 8, 6, 1, 5]);
  });

  it('treats the seed as an unsigned 32-bit integer', () => {
    expect(new SeededRandom(-1).next()).toBe(new SeededRandom(2 ** 32 - 1).next());
  });
});
