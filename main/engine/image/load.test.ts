import { describe, expect, it, vi } from 'vitest';
import { PNG } from 'pngjs';

import { FusionError } from '../../common/errors.ts';
import {
  fixturePath,
  readFixtureBytes,
  readFixtureJson,
  type DecodeEntry,
  type FixtureIndex,
} from './fixtures/read.ts';
import { decodeImage, loadImage } from './load.ts';

const decoded = readFixtureJson<FixtureIndex<DecodeEntry>>('decode.json');
const decodedBlob = readFixtureBytes('decode.bin');

function expected(entry: DecodeEntry): Uint8Array {
  return decodedBlob.subarray(entry.offset, entry.offset + entry.width * entry.height * 3);
}

/** Index of the first differing byte, or -1: keeps failure output short. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

async function rejection(promise: Promise<unknown>): Promise<FusionError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FusionError);
    return error as FusionError;
  }
  throw new Error('expected the promise to reject');
}

describe('loadImage matches transformers load_image (Pillow open + exif_transpose + convert RGB)', () => {
  it('has fixtures for PNG and JPEG variants', () => {
    expect(decoded.entries.length).toBeGreaterThanOrEqual(30);
  });

  for (const entry of decoded.entries) {
    it(`decodes ${entry.file} bit-exactly`, async () => {
      const img = await loadImage(fixturePath('inputs', entry.file));
      expect([img.width, img.height]).toEqual([entry.width, entry.height]);
      expect(firstDifference(img.data, expected(entry))).toBe(-1);
    });
  }

  it('applies all 8 EXIF orientations with swapped sizes for 5..8', async () => {
    const upright = await loadImage(fixturePath('inputs', 'exif1_24x16.png'));
    expect([upright.width, upright.height]).toEqual([24, 16]);
    for (let o = 2; o <= 8; o++) {
      for (const ext of ['png', 'jpg']) {
        const img = await loadImage(fixturePath('inputs', `exif${o}_24x16.${ext}`));
        expect([img.width, img.height]).toEqual(o >= 5 ? [16, 24] : [24, 16]);
      }
    }
    // Orientation 6 (ROTATE_270, i.e. clockwise): the stored bottom-left pixel becomes the top-left.
    const rotated = await loadImage(fixturePath('inputs', 'exif6_24x16.png'));
    const storedBottomLeft = upright.data.subarray(15 * 24 * 3, 15 * 24 * 3 + 3);
    expect(Array.from(rotated.data.subarray(0, 3))).toEqual(Array.from(storedBottomLeft));
  });

  it('reads bytes as well as paths, and names the source in errors', async () => {
    const bytes = readFixtureBytes('inputs', 'photo_64x48_420.jpg');
    const img = await loadImage(bytes);
    expect([img.width, img.height]).toEqual([64, 48]);
    const error = await rejection(loadImage(new TextEncoder().encode('hello'), { name: 'upload.png' }));
    expect(error.code).toBe('BAD_IMAGE');
    expect(error.message).toContain('upload.png');
  });
});

describe('loadImage errors', () => {
  it('rejects a text file renamed .png as BAD_IMAGE naming the file', async () => {
    const error = await rejection(loadImage(fixturePath('errors', 'text_renamed.png')));
    expect(error.code).toBe('BAD_IMAGE');
    expect(error.message).toMatch(/^text_renamed\.png: not an image \(text, not an image; PNG, JPEG, /);
  });

  it('rejects a truncated PNG and a truncated JPEG as BAD_IMAGE', async () => {
    for (const file of ['truncated.png', 'truncated.jpg']) {
      const error = await rejection(loadImage(fixturePath('errors', file)));
      expect(error.code).toBe('BAD_IMAGE');
      expect(error.message).toContain(file);
      expect(error.message).toMatch(/truncated/);
    }
  });

  it('rejects a PNG with a bad header checksum, as Pillow does', async () => {
    const error = await rejection(loadImage(fixturePath('errors', 'bad_crc.png')));
    expect(error.code).toBe('BAD_IMAGE');
    expect(error.message).toMatch(/bad checksum in "IHDR"/);
  });

  it('rejects a 100000x100000 PNG header as IMAGE_TOO_LARGE without decoding', async () => {
    const read = vi.spyOn(PNG.sync, 'read');
    try {
      const error = await rejection(loadImage(fixturePath('errors', 'huge_100000x100000.png')));
      expect(error.code).toBe('IMAGE_TOO_LARGE');
      expect(error.message).toContain('100000x100000 = 10000000000 pixels');
      expect(error.message).toContain('64000000');
      expect(read).not.toHaveBeenCalled();
    } finally {
      read.mockRestore();
    }
  });

  it('rejects an oversized JPEG from its SOF header before decoding', async () => {
    const bytes = readFixtureBytes('inputs', 'photo_64x48_420.jpg').slice();
    // Patch the SOF0 height/width fields to 60000x60000; decoding would run out of data (BAD_IMAGE).
    const sof = bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0xc0);
    bytes.set([0xea, 0x60, 0xea, 0x60], sof + 5);
    const error = await rejection(loadImage(bytes, { name: 'huge.jpg' }));
    expect(error.code).toBe('IMAGE_TOO_LARGE');
    expect(error.message).toContain('huge.jpg: 60000x60000');
  });

  it('honours a custom maxPixels', async () => {
    const path = fixturePath('inputs', 'photo_64x48_420.jpg');
    expect((await rejection(loadImage(path, { maxPixels: 64 * 48 - 1 }))).code).toBe('IMAGE_TOO_LARGE');
    expect((await loadImage(path, { maxPixels: 64 * 48 })).width).toBe(64);
    expect((await rejection(loadImage(path, { maxPixels: 0 }))).code).toBe('BAD_ARGUMENT');
  });

  it('names the detected type of unsupported formats', async () => {
    const qoi = Uint8Array.from([...new TextEncoder().encode('qoif'), 0, 0, 0, 1, 0, 0, 0, 1, 3, 0]);
    const error = await rejection(loadImage(qoi, { name: 'small.qoi' }));
    expect(error.code).toBe('BAD_IMAGE');
    expect(error.message).toBe(
      'small.qoi: QOI images are not supported (PNG, JPEG, BMP, WebP, GIF, TIFF and AVIF are read); convert it to PNG first',
    );
  });

  it('reads the GIF that used to be refused, and says which decoder read it', async () => {
    const image = await loadImage(fixturePath('errors', 'small.gif'));
    expect(image.decoded).toMatchObject({
      format: 'gif',
      decoder: expect.stringMatching(/^sharp-gif\/libvips /),
    });
    const png = await loadImage(fixturePath('inputs', 'tall_30x52.png'));
    expect(png.decoded).toEqual({ format: 'png', decoder: 'fusionscope-png', notes: [] });
    const jpeg = await loadImage(fixturePath('inputs', 'photo_64x48_420.jpg'));
    expect(jpeg.decoded).toEqual({ format: 'jpeg', decoder: 'fusionscope-jpeg', notes: [] });
  });

  it('reports a missing file as MISSING_FILE', async () => {
    const error = await rejection(loadImage(fixturePath('errors', 'no-such-file.png')));
    expect(error.code).toBe('MISSING_FILE');
  });

  it('names unsupported JPEG codings instead of crashing', async () => {
    const base = readFixtureBytes('inputs', 'photo_64x48_420.jpg');
    const sof = base.findIndex((b, i) => b === 0xff && base[i + 1] === 0xc0);
    const arithmetic = base.slice();
    arithmetic[sof + 1] = 0xc9;
    expect((await rejection(loadImage(arithmetic, { name: 'a.jpg' }))).message).toMatch(
      /a\.jpg: invalid JPEG: arithmetic-coded JPEG is not supported/,
    );
    const twelveBit = base.slice();
    twelveBit[sof + 4] = 12;
    expect((await rejection(loadImage(twelveBit, { name: 'b.jpg' }))).message).toMatch(/12-bit JPEG samples/);
  });

  it('never crashes on damaged data: every truncation and many byte flips give BAD_IMAGE or an image', async () => {
    for (const file of ['photo_64x48_420.jpg', 'photo_45x37_422_progressive.jpg', 'tall_30x52.png']) {
      const good = readFixtureBytes('inputs', file);
      const full = await loadImage(good);
      const cuts = [
        1,
        2,
        3,
        8,
        20,
        33,
        100,
        good.length >> 1,
        good.length - 20,
        good.length - 2,
        good.length - 1,
      ];
      for (const cut of cuts) {
        const truncated = loadImage(good.subarray(0, cut), { name: file });
        if (file.endsWith('.png') && cut >= good.length - 12) {
          // Like Pillow, a PNG missing (part of) its IEND chunk still loads: the image data is complete.
          expect((await truncated).data).toEqual(full.data);
        } else {
          expect((await rejection(truncated)).code).toBe('BAD_IMAGE');
        }
      }
      let seed = 12345;
      for (let trial = 0; trial < 150; trial++) {
        const bad = good.slice();
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        bad[2 + (seed % (bad.length - 2))] = seed >> 8;
        try {
          await loadImage(bad, { name: file });
        } catch (error) {
          expect(error).toBeInstanceOf(FusionError);
          expect(['BAD_IMAGE', 'IMAGE_TOO_LARGE']).toContain((error as FusionError).code);
        }
      }
    }
  });
});

describe('loadImage error text', () => {
  it('never quotes the bytes of a file that is no image (a link to a secret, say)', async () => {
    const secret = new TextEncoder().encode('root:$6$secrethash:19000:0:99999:7:::\n');
    const message = await decodeImage(secret, 'shadow.png').then(
      () => '',
      (error: unknown) => (error as Error).message,
    );
    expect(message).toBe(
      'shadow.png: not an image (text, not an image; PNG, JPEG, BMP, WebP, GIF, TIFF and AVIF are read)',
    );
  });
});
