/**
 * What the PNG and JPEG targets share: the image fixtures with their Pillow reference pixels, and the
 * property checked on any bytes handed to the image loader (main/engine/image/load.ts).
 *
 * Property: `decodeImage` returns an RGB image of the size it declares, or rejects with FusionError
 * BAD_IMAGE / IMAGE_TOO_LARGE whose cause, if any, is the decoder's own error (PngError, JpegError,
 * BmpError, or SharpDecodeError for what sharp/libvips refused);
 * load.ts wraps anything else too, so a TypeError found there is a decoder crash it merely hides.
 * `readImageHeader` (the cheap check dataset import relies on) agrees: it accepts whatever decodes,
 * with the same stored size. A fixture decodes to exactly the pixels Pillow gives.
 */
import { FusionError } from '../../common/errors.ts';
import {
  readFixtureBytes,
  readFixtureJson,
  type DecodeEntry,
  type FixtureIndex,
} from '../../engine/image/fixtures/read.ts';
import { JpegError } from '../../engine/image/jpeg/errors.ts';
import { decodeImage, readImageHeader } from '../../engine/image/load.ts';
import { BmpError } from '../../engine/image/bmp.ts';
import { PngError } from '../../engine/image/png.ts';
import { SharpDecodeError } from '../../engine/image/sharpDecode.ts';
import type { RgbImage } from '../../engine/image/types.ts';
import { PropertyViolation, describeError, ensure, rejectsOnlyWith } from '../target.ts';

/**
 * The fuzzed images' pixel cap: far below the default, so a flipped size field costs at most a few
 * milliseconds of decoding instead of hundreds, and the cap's own check is exercised.
 */
export const FUZZ_MAX_PIXELS = 1 << 18;

export interface ImageFixture {
  readonly file: string;
  readonly bytes: Uint8Array;
  /** Pillow's RGB pixels of the image (EXIF orientation applied). */
  readonly expected: RgbImage;
}

/** Every fixture image whose name ends with `extension`, with its reference decode. */
export function imageFixtures(extension: string): ImageFixture[] {
  const index = readFixtureJson<FixtureIndex<DecodeEntry>>('decode.json');
  const blob = readFixtureBytes('decode.bin');
  return index.entries
    .filter((e) => e.file.endsWith(extension))
    .map((e) => ({
      file: e.file,
      bytes: readFixtureBytes('inputs', e.file),
      expected: {
        width: e.width,
        height: e.height,
        data: blob.subarray(e.offset, e.offset + e.width * e.height * 3),
      },
    }));
}

/** A rejection the loader documents: its own error, wrapping nothing but a decoder's error. */
function isImageRejection(error: unknown): boolean {
  if (!(error instanceof FusionError)) return false;
  if (error.code !== 'BAD_IMAGE' && error.code !== 'IMAGE_TOO_LARGE') return false;
  const cause = error.cause;
  const decoderErrors = [PngError, JpegError, BmpError, SharpDecodeError];
  if (cause === undefined || decoderErrors.some((type) => cause instanceof type)) return true;
  throw new PropertyViolation(
    `the decoder crashed (load.ts reported it as ${error.code}): ${describeError(cause)}`,
    {
      cause,
    },
  );
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * What a case's bytes must do beyond the property: nothing more (`any`: mutated or random bytes),
 * decode (`valid`: an unmodified file whose pixels are not known exactly), or decode to these pixels.
 */
export type Expectation = 'any' | 'valid' | RgbImage;

/** The image property on `bytes`. */
export async function checkImageBytes(bytes: Uint8Array, expectation: Expectation = 'any'): Promise<void> {
  const header = await rejectsOnlyWith(
    () => readImageHeader(bytes, 'fuzz', FUZZ_MAX_PIXELS),
    isImageRejection,
    'readImageHeader',
  );
  const image = await rejectsOnlyWith(
    () => decodeImage(bytes, 'fuzz', FUZZ_MAX_PIXELS),
    isImageRejection,
    'decodeImage',
  );
  if (expectation !== 'any') ensure(image !== undefined, () => 'a valid image was refused');
  if (image !== undefined && typeof expectation === 'object') {
    const expected = expectation;
    ensure(
      image.width === expected.width &&
        image.height === expected.height &&
        sameBytes(image.data, expected.data),
      () => `a valid image decoded to ${image.width}x${image.height} with other pixels than expected`,
    );
  }
  if (image === undefined) return;
  ensure(
    Number.isSafeInteger(image.width) && image.width > 0 && image.height > 0,
    () => `decoded size ${image.width}x${image.height}`,
  );
  ensure(
    image.data.length === image.width * image.height * 3,
    () => `${image.width}x${image.height} image with ${image.data.length} bytes of RGB`,
  );
  ensure(header !== undefined, () => 'readImageHeader refused an image that decodes');
  const sameSize = header.width === image.width && header.height === image.height;
  const rotated = header.width === image.height && header.height === image.width;
  ensure(
    sameSize || rotated,
    () => `header says ${header.width}x${header.height}, decoded ${image.width}x${image.height}`,
  );
}
