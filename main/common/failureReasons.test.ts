import { describe, expect, it } from 'vitest';

import { groupFailures } from './failureReasons.ts';

describe('groupFailures', () => {
  it('counts failed samples per reason, most frequent first, naming each sample image generically', () => {
    const images: Record<string, string> = { a: '/d/a.jpg', b: 'C:\\d\\b.jpg', c: '/d/c.jpg' };
    const failed = [
      { itemId: 'x', error: 'out of memory' },
      { itemId: 'a', error: 'a.jpg: invalid JPEG: bad Huffman code' },
      { itemId: 'b', error: 'b.jpg: invalid JPEG: bad Huffman code' },
      { itemId: 'c', error: 'c.jpg: invalid JPEG: bad Huffman code' },
      { itemId: 'y', error: null },
    ];
    expect(groupFailures(failed, (id) => images[id], 2)).toEqual([
      { reason: '<image>: invalid JPEG: bad Huffman code', count: 3, itemIds: ['a', 'b'] },
      { reason: 'out of memory', count: 1, itemIds: ['x'] },
      { reason: 'unknown error', count: 1, itemIds: ['y'] },
    ]);
  });
});
