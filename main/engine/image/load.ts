/**
 * Image loading that matches transformers' `load_image` (PIL.Image.open -> ImageOps.exif_transpose
 * -> convert("RGB")) pixel for pixel for PNG and JPEG.
 *
 * Decompression-bomb guard: the pixel count is read from the header (PNG IHDR, JPEG SOF) before any
 * image data is decompressed and rejected above `maxPixels` (default 64,000,000). For comparison,
 * Pillow's Image.MAX_IMAGE_PIXELS is 89,478,485 (about 0.25 GiB of 24-bit pixels): it warns above
 * that and raises DecompressionBombError above twice that (178,956,970). Our default is lower and a
 * hard error, because decoding here keeps coefficient and RGB buffers (~6-9 bytes per pixel at peak).
 * Files larger than 16 bytes per allowed pixel (+16 MiB for metadata) are refused before reading.
 */
import { basename } from 'node:path';

import { FusionError } from '../../common/errors.ts';
import { openRegularFile } from '../files/regularFile.ts';
import { readExifOrientation } from './exif.ts';
import { FORMAT_LABELS, detectFormat } from './format.ts';
import { JpegError } from './jpeg/errors.ts';
import { decodeJpeg, type JpegInfo, readJpegInfo } from './jpeg/decode.ts';
import { applyExifOrientation } from './orientation.ts';
import { PngError, type PngInfo, decodePng, readPngInfo } from './png.ts';
import type { RgbImage } from './types.ts';

export const DEFAULT_MAX_PIXELS = 64_000_000;

export interface LoadImageOptions {
  /** Largest width * height accepted (default DEFAULT_MAX_PIXELS). */
  readonly maxPixels?: number;
  /** Name used in error messages (default: the file's base name, or "image bytes"). */
  readonly name?: string;
}

function tooLarge(name: string, width: number, height: number, maxPixels: number): FusionError {
  return new FusionError(
    'IMAGE_TOO_LARGE',
    `${name}: ${width}x${height} = ${width * height} pixels exceeds the limit of ${maxPixels} pixels ` +
      '(decompression-bomb guard; raise maxPixels to allow it)',
  );
}

function checkPixels(name: string, width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) throw tooLarge(name, width, height, maxPixels);
}

/** Largest image file accepted for `maxPixels`: 16 bytes per pixel, plus 16 MiB of metadata. */
export function maxImageFileBytes(maxPixels: number = DEFAULT_MAX_PIXELS): number {
  return maxPixels * 16 + 16 * 1024 * 1024;
}

async function readSource(source: string, name: string, maxPixels: number): Promise<Uint8Array> {
  // A regular file only, opened without blocking and read through the handle that was checked: a FIFO
  // named as an image (on the command line, in a dataset) would otherwise hang the read.
  const { handle, stats } = await openRegularFile(source);
  try {
    const byteLimit = maxImageFileBytes(maxPixels);
    if (stats.size > byteLimit) {
      throw new FusionError(
        'IMAGE_TOO_LARGE',
        `${name}: file is ${stats.size} bytes, more than the ${byteLimit} bytes allowed for ${maxPixels} pixels`,
      );
    }
    return new Uint8Array(await handle.readFile());
  } catch (error) {
    if (error instanceof FusionError) throw error;
    throw new FusionError('BAD_IMAGE', `${name}: cannot read ${source} (${(error as Error).message})`);
  } finally {
    await handle.close();
  }
}

/** PNG or JPEG, or a BAD_IMAGE error saying why the bytes are neither (never the bytes themselves). */
function supportedFormat(bytes: Uint8Array, name: string): 'png' | 'jpeg' {
  const format = detectFormat(bytes);
  const head = bytes.length === 0 ? 'the file is empty' : 'unknown signature';
  if (format === null) throw new FusionError('BAD_IMAGE', `${name}: not a PNG or JPEG image (${head})`);
  if (format !== 'png' && format !== 'jpeg') {
    throw new FusionError(
      'BAD_IMAGE',
      `${name}: ${FORMAT_LABELS[format]} images are not supported (only PNG and JPEG); convert it to PNG first`,
    );
  }
  return format;
}

type Header =
  | { readonly format: 'png'; readonly info: PngInfo; readonly exif: Uint8Array | null }
  | { readonly format: 'jpeg'; readonly info: JpegInfo; readonly exif: Uint8Array | null };

/** PNG IHDR (and chunk list) or JPEG SOF, the pixel cap enforced; nothing is decompressed. */
function readHeader(bytes: Uint8Array, format: 'png' | 'jpeg', name: string, maxPixels: number): Header {
  if (format === 'png') {
    const info = readPngInfo(bytes);
    checkPixels(name, info.width, info.height, maxPixels);
    return { format, info, exif: info.exif };
  }
  const info = readJpegInfo(bytes);
  checkPixels(name, info.frame.width, info.frame.height, maxPixels);
  return { format, info, exif: info.exif };
}

function imageError(error: unknown, name: string, format: 'png' | 'jpeg'): FusionError {
  if (error instanceof FusionError) return error;
  if (error instanceof PngError || error instanceof JpegError) {
    return new FusionError('BAD_IMAGE', `${name}: invalid ${FORMAT_LABELS[format]}: ${error.message}`, {
      cause: error,
    });
  }
  // Anything else (a RangeError from a hostile length, an allocation failure) is still a bad image,
  // never an uncaught crash.
  return new FusionError('BAD_IMAGE', `${name}: cannot decode ${FORMAT_LABELS[format]} (${String(error)})`, {
    cause: error,
  });
}

/** Decodes PNG or JPEG bytes to RGB (EXIF orientation applied), enforcing the pixel cap first. */
export function decodeImage(
  bytes: Uint8Array,
  name: string,
  maxPixels: number = DEFAULT_MAX_PIXELS,
): RgbImage {
  // Never the file's bytes: an image path may point anywhere (a link to /etc/shadow, say).
  const format = supportedFormat(bytes, name);
  try {
    const header = readHeader(bytes, format, name, maxPixels);
    const orientation = header.exif ? readExifOrientation(header.exif) : null;
    const rgb = header.format === 'png' ? decodePng(bytes, header.info) : decodeJpeg(bytes);
    return applyExifOrientation(rgb, orientation);
  } catch (error) {
    throw imageError(error, name, format);
  }
}

export interface ImageHeader {
  readonly format: 'png' | 'jpeg';
  /** As stored, before EXIF orientation. */
  readonly width: number;
  readonly height: number;
}

/**
 * What `decodeImage` checks before decompressing anything (format, header, chunk list, pixel cap),
 * for checking many images cheaply (dataset import). Errors quote no byte of the file: it may be
 * anything a dataset names.
 */
export function readImageHeader(
  bytes: Uint8Array,
  name: string,
  maxPixels: number = DEFAULT_MAX_PIXELS,
): ImageHeader {
  const format = supportedFormat(bytes, name);
  try {
    const header = readHeader(bytes, format, name, maxPixels);
    const { width, height } = header.format === 'png' ? header.info : header.info.frame;
    return { format, width, height };
  } catch (error) {
    throw imageError(error, name, format);
  }
}

/** Loads an image from a file path or from its bytes. */
export async function loadImage(
  source: string | Uint8Array,
  options: LoadImageOptions = {},
): Promise<RgbImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!Number.isSafeInteger(maxPixels) || maxPixels < 1) {
    throw new FusionError('BAD_ARGUMENT', `maxPixels must be a positive integer, got ${maxPixels}`);
  }
  if (typeof source === 'string') {
    const name = options.name ?? basename(source);
    return decodeImage(await readSource(source, name, maxPixels), name, maxPixels);
  }
  return decodeImage(source, options.name ?? 'image bytes', maxPixels);
}
