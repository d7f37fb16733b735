/**
 * WebP, GIF, TIFF and AVIF, decoded by sharp (prebuilt libvips with libwebp, cgif/libnsgif, libtiff and
 * libheif + aom): formats we do not decode ourselves, read by a library that is fuzzed and kept.
 * Settings chosen to come as close to Pillow's `open → exif_transpose → convert("RGB")` as libvips can:
 * - the embedded ICC profile is ignored (Pillow does not apply it either);
 * - EXIF orientation is applied (`autoOrient`), as transformers' `load_image` does;
 * - alpha is dropped without compositing, greyscale replicated to RGB, 16-bit samples cast to 8 bits;
 * - only the first frame of an animated GIF/WebP, or the first page of a TIFF, is read (Pillow's
 *   default frame too); the caller is told how many there were so it can say so;
 * - truncated or corrupt data fails (`failOn: 'error'`) instead of decoding to a partly grey image.
 * sharp is loaded on first use only: the CLI and anything that never meets such a file skip loading
 * libvips. It is engine-only (Node), never imported by the renderer or main/common.
 */
import type SharpFactory from 'sharp';
import type { Sharp, SharpOptions } from 'sharp';

import type { RgbImage } from './types.ts';

export const SHARP_FORMATS = ['webp', 'gif', 'tiff', 'avif'] as const;
export type SharpFormat = (typeof SHARP_FORMATS)[number];

/** What sharp reported for a file it could not read; load.ts names the file and the format. */
export class SharpDecodeError extends Error {
  override readonly name = 'SharpDecodeError';
}

let loaded: Promise<typeof SharpFactory> | undefined;

function sharpModule(): Promise<typeof SharpFactory> {
  loaded ??= import('sharp').then((module) => {
    const sharp = module.default;
    // Decoded images are not reused by libvips: its operation cache would only hold memory.
    sharp.cache(false);
    return sharp;
  });
  return loaded;
}

/** `sharp-webp/libvips 8.18.8`: the decoder as results record it. */
export async function sharpDecoderName(format: SharpFormat): Promise<string> {
  const sharp = await sharpModule();
  return `sharp-${format}/libvips ${sharp.versions.vips}`;
}

/** libvips's name for what it found, per format we sniffed (AVIF is a HEIF container). */
const LIBVIPS_FORMAT: Readonly<Record<SharpFormat, string>> = {
  webp: 'webp',
  gif: 'gif',
  tiff: 'tiff',
  avif: 'heif',
};

export interface SharpHeader {
  /** As stored, before EXIF orientation (first frame or page). */
  readonly width: number;
  readonly height: number;
  /** Frames (GIF, WebP) or pages (TIFF); 1 for a still image. */
  readonly pages: number;
}

/** sharp's message, first line only and shortened: it names the libvips loader, never file bytes. */
function failure(error: unknown): SharpDecodeError {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n')[0].trim().slice(0, 200);
  return new SharpDecodeError(line || 'libvips could not read it', { cause: error });
}

function open(sharp: typeof SharpFactory, bytes: Uint8Array, maxPixels: number): Sharp {
  const options: SharpOptions = {
    ignoreIcc: true,
    autoOrient: true,
    failOn: 'error',
    limitInputPixels: maxPixels,
    pages: 1,
    page: 0,
  };
  return sharp(bytes, options);
}

/** The header as libvips reads it (no pixel data decoded), checked to be the format sniffed. */
export async function readSharpHeader(bytes: Uint8Array, format: SharpFormat): Promise<SharpHeader> {
  const sharp = await sharpModule();
  let meta: Awaited<ReturnType<Sharp['metadata']>>;
  try {
    // Metadata only: no pixel limit yet (the caller compares the size with its own cap first).
    meta = await sharp(bytes, { limitInputPixels: false, pages: 1 }).metadata();
  } catch (error) {
    throw failure(error);
  }
  if (meta.format !== LIBVIPS_FORMAT[format]) {
    throw new SharpDecodeError(`libvips read it as ${String(meta.format)}, not ${format}`);
  }
  if (format === 'avif' && meta.compression !== 'av1') {
    throw new SharpDecodeError(`its HEIF container holds ${String(meta.compression)}, not AV1`);
  }
  const { width, height } = meta;
  if (width === undefined || height === undefined || width < 1 || height < 1) {
    throw new SharpDecodeError('no image size in its header');
  }
  return { width, height, pages: meta.pages ?? 1 };
}

/** Decodes the first frame to 8-bit RGB, orientation applied. */
export async function decodeWithSharp(bytes: Uint8Array, maxPixels: number): Promise<RgbImage> {
  const sharp = await sharpModule();
  try {
    const { data, info } = await open(sharp, bytes, maxPixels)
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      throw new SharpDecodeError(`libvips gave ${info.channels} channels, not RGB`);
    }
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
  } catch (error) {
    if (error instanceof SharpDecodeError) throw error;
    throw failure(error);
  }
}
