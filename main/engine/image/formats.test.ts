/**
 * BMP (ours), WebP, GIF, TIFF and AVIF (sharp/libvips) against pixels an independent decoder gave:
 * Pillow 9.4's load_image steps, or for AVIF the lossless source / libavif's avifdec
 * (fixtures/make_format_fixtures.py wrote both the samples and the references).
 */
import { describe, expect, it } from 'vitest';

import { FusionError } from '../../common/errors.ts';
import {
  fixturePath,
  readFixtureBytes,
  readFixtureJson,
  type FixtureIndex,
  type FormatEntry,
} from './fixtures/read.ts';
import { decodeImage, loadImage, readImageHeader } from './load.ts';

const index = readFixtureJson<FixtureIndex<FormatEntry> & { avif: string }>('formats.json');
const blob = readFixtureBytes('formats.bin');
const reference = (e: FormatEntry) => blob.subarray(e.offset, e.offset + e.width * e.height * 3);

/** Largest per-channel difference, and how many channels differ at all. */
function difference(a: Uint8Array, b: Uint8Array): { max: number; count: number } {
  let max = 0;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > 0) count++;
    max = Math.max(max, d);
  }
  return { max, count };
}

async function rejection(promise: Promise<unknown>): Promise<FusionError> {
  const error: unknown = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FusionError);
  return error as FusionError;
}

const EXPECTED_DECODER: Readonly<Record<string, RegExp>> = {
  bmp: /^fusionscope-bmp$/,
  webp: /^sharp-webp\/libvips \d+\.\d+\.\d+$/,
  gif: /^sharp-gif\/libvips \d+\.\d+\.\d+$/,
  tiff: /^sharp-tiff\/libvips \d+\.\d+\.\d+$/,
  avif: /^sharp-avif\/libvips \d+\.\d+\.\d+$/,
};

describe('new image formats decode to the independent reference', () => {
  it('has a sample of every new format, most of them exact', () => {
    const formats = new Set(index.entries.map((e) => e.file.split('_')[0]));
    expect([...formats].sort()).toEqual(['avif', 'bmp', 'gif', 'tiff', 'webp']);
    expect(index.entries.filter((e) => e.maxDiff === 0).length).toBeGreaterThanOrEqual(22);
  });

  for (const entry of index.entries) {
    it(`${entry.file} (${entry.reference}${entry.maxDiff ? `, within ${entry.maxDiff}` : ', exact'})`, async () => {
      const image = await loadImage(fixturePath('formats', entry.file));
      expect([image.width, image.height]).toEqual([entry.width, entry.height]);
      const diff = difference(image.data, reference(entry));
      expect(diff.max).toBeLessThanOrEqual(entry.maxDiff);
      const format = entry.file.split('_')[0];
      expect(image.decoded.format).toBe(format);
      expect(image.decoded.decoder).toMatch(EXPECTED_DECODER[format]);
      expect(image.decoded.notes).toEqual(entry.note ? [entry.note] : []);
    });
  }

  it('a lossy AVIF is close to libavif but not identical to it', async () => {
    // Stated so the tolerance above stays honest: if libvips and avifdec ever agree exactly, say so.
    const entry = index.entries.find((e) => e.file === 'avif_lossy_13x9.avif')!;
    const image = await loadImage(fixturePath('formats', entry.file));
    const diff = difference(image.data, reference(entry));
    expect(diff.max).toBeGreaterThan(0);
    expect(diff.max).toBeLessThanOrEqual(3);
  });

  it('sniffs the content, not the name: a WebP called .png is read as WebP', async () => {
    const bytes = readFixtureBytes('formats', 'webp_lossless_13x9.webp');
    const image = await loadImage(bytes, { name: 'photo.png' });
    expect(image.decoded.format).toBe('webp');
  });

  it('reads the same header the decoder does, before any pixel is decoded', async () => {
    for (const entry of index.entries) {
      const header = await readImageHeader(readFixtureBytes('formats', entry.file), entry.file);
      // As stored: the TIFF with orientation 6 is 13 x 9 on disk and 9 x 13 once turned.
      const stored = entry.file.includes('orientation6')
        ? [entry.height, entry.width]
        : [entry.width, entry.height];
      expect([header.width, header.height]).toEqual(stored);
    }
  });

  it('applies the pixel cap from the header for sharp formats too', async () => {
    const bytes = readFixtureBytes('formats', 'webp_lossless_13x9.webp');
    const error = await rejection(loadImage(bytes, { name: 'w.webp', maxPixels: 13 * 9 - 1 }));
    expect(error.code).toBe('IMAGE_TOO_LARGE');
    expect(error.message).toBe(
      'w.webp: 13x9 = 117 pixels exceeds the limit of 116 pixels (decompression-bomb guard; raise maxPixels to allow it)',
    );
  });
});

describe('damaged and refused files name the file and what is wrong', () => {
  const cases: readonly [string, RegExp][] = [
    ['webp_lossy_13x9_truncated.webp', /^webp_lossy_13x9_truncated\.webp: invalid WebP: /],
    ['gif_palette_13x9_truncated.gif', /^gif_palette_13x9_truncated\.gif: invalid GIF: /],
    ['tiff_lzw_13x9_truncated.tif', /^tiff_lzw_13x9_truncated\.tif: invalid TIFF: /],
    ['avif_lossy_13x9_truncated.avif', /^avif_lossy_13x9_truncated\.avif: invalid AVIF: /],
    ['bmp_truncated.bmp', /^bmp_truncated\.bmp: invalid BMP: pixel data is truncated$/],
    [
      'bmp_rle8.bmp',
      /^bmp_rle8\.bmp: invalid BMP: RLE8 BMPs are not supported \(uncompressed BI_RGB and BI_BITFIELDS are\)$/,
    ],
    [
      'bmp_odd_masks.bmp',
      /^bmp_odd_masks\.bmp: invalid BMP: unsupported 32-bit BI_BITFIELDS layout \(masks 0xff00, 0xff0000, 0xff, 0x0\)$/,
    ],
    [
      'photo.heic',
      /^photo\.heic: HEIF\/HEIC images are not supported: HEIC\/HEVC decoding is not included in the prebuilt libvips \(PNG, JPEG, BMP, WebP, GIF, TIFF and AVIF are read\); convert it to PNG first$/,
    ],
  ];
  for (const [file, message] of cases) {
    it(file, async () => {
      const error = await rejection(loadImage(fixturePath('errors', 'formats', file)));
      expect(error.code).toBe('BAD_IMAGE');
      expect(error.message).toMatch(message);
    });
  }

  it('says what a non-image is, without quoting it', async () => {
    const cases: readonly [string, string][] = [
      ['%PDF-1.7\n%secret', 'a PDF document'],
      ['root:$6$hash:19000:0:99999:7:::\n', 'text, not an image'],
      ['<svg xmlns="http://www.w3.org/2000/svg"/>', 'text that looks like XML, SVG or HTML'],
      ['PK\u0003\u0004zipped', 'a ZIP archive'],
      ['', 'the file is empty'],
    ];
    for (const [text, found] of cases) {
      const error = await rejection(decodeImage(new TextEncoder().encode(text), 'x.png'));
      expect(error.message).toBe(
        `x.png: not an image (${found}; PNG, JPEG, BMP, WebP, GIF, TIFF and AVIF are read)`,
      );
    }
    const binary = Uint8Array.from([0, 1, 2, 3, 250, 251, 252, 253]);
    expect((await rejection(decodeImage(binary, 'b.jpg'))).message).toBe(
      'b.jpg: not an image (unknown signature; PNG, JPEG, BMP, WebP, GIF, TIFF and AVIF are read)',
    );
  });

  it('every truncation of a sharp-decoded sample is refused or decodes; none crashes', async () => {
    for (const file of ['webp_lossless_13x9.webp', 'gif_animated_10x8.gif', 'tiff_pages_10x8.tif']) {
      const good = readFixtureBytes('formats', file);
      for (const cut of [0, 4, 12, 30, good.length >> 1, good.length - 8, good.length - 1]) {
        try {
          await loadImage(good.subarray(0, cut), { name: file });
        } catch (error) {
          expect(error).toBeInstanceOf(FusionError);
          expect((error as FusionError).code).toBe('BAD_IMAGE');
          expect((error as FusionError).message.startsWith(`${file}: `)).toBe(true);
        }
      }
    }
  });
});
