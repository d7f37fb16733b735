import { copyFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import { useTempDir, writePng, writeText } from '../datasets/testing.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { fixturePath } from '../image/fixtures/read.ts';
import { imageDecoders } from './provenance.ts';

const { at } = useTempDir();

const item = (id: string, imagePath: string): DatasetItem => ({
  id,
  imagePath,
  question: 'q',
  answers: ['a'],
  family: 'f',
  subtype: null,
  boxes: [],
  metric: 'exact',
});

describe('provenance: which decoder reads the run images', () => {
  it('counts items per decoder by the files magic bytes, not their names', async () => {
    await writePng(at('a.jpg'));
    await copyFile(fixturePath('formats', 'webp_lossless_13x9.webp'), at('b.png'));
    await copyFile(fixturePath('formats', 'bmp_rgb24_13x9.bmp'), at('c.bmp'));
    await writeText(at('notes.png'), 'not an image');
    const counts = await imageDecoders([
      item('1', at('a.jpg')),
      item('2', at('a.jpg')),
      item('3', at('b.png')),
      item('4', at('c.bmp')),
      item('5', at('notes.png')),
      item('6', at('missing.png')),
    ]);
    const webp = Object.keys(counts).find((k) => k.startsWith('sharp-webp/libvips '));
    expect(webp).toMatch(/^sharp-webp\/libvips \d+\.\d+\.\d+$/);
    expect(counts).toEqual({ 'fusionscope-png': 2, [webp!]: 1, 'fusionscope-bmp': 1, none: 2 });
  });
});
