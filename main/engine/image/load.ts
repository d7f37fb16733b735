/**
 * Image loading that matches transformers' `load_image` (PIL.Image.open -> ImageOps.exif_transpose
 * -> convert("RGB")) pixel for pixel for PNG, JPEG and BMP (our own decoders); WebP, GIF, TIFF and
 * AVIF are decoded by sharp/libvips (sharpDecode.ts; how close that is to Pillow: README.md). The
 * format comes from the magic bytes, never the file name; every image says which decoder read it.
 *
 * Decompression-bomb guard: the pixel count is read from the header (PNG IHDR, JPEG SOF, BMP header,
 * libvips metadata) before any image data is decompressed and rejected above `maxPixels` (default 64,000,000). For comparison,
 * Pillow's Image.MAX_IMAGE_PIXELS is 89,478,485 (about 0.25 GiB of 24-bit pixels): it warns above
 * that and raises DecompressionBombError above twice that (178,956,970). Our default is lower and a
 * hard error, because decoding here keeps coefficient and RGB buffers (~6-9 bytes per pixel at peak).
 * Files larger than 16 bytes per allowed pixel (+16 MiB for metadata) are refused before reading.
 */
import { basename } from 'node:path';

import { FusionError } from '../../common/errors.ts';
import { openRegularFile } from '../files/regularFile.ts';
import { BmpError, type BmpInfo, decodeBmp, readBmpInfo } from './bmp.ts';
import { readExifOrientation } from './exif.ts';
import { type DetectedFormat, FORMAT_LABELS, describeNonImage, detectFormat } from './format.ts';
import { JpegError } from './jpeg/errors.ts';
import { decodeJpeg, type JpegInfo, readJpegInfo } from './jpeg/decode.ts';
import { applyExifOrientation } from './orientation.ts';
import { PngError, type PngInfo, decodePng, readPngInfo } from './png.ts';
import {
  SHARP_FORMATS,
  SharpDecodeError,
  type SharpFormat,
  type SharpHeader,
  decodeWithSharp,
  readSharpHeader,
  sharpDecoderName,
} from './sharpDecode.ts';
import type { DecodableFormat, ImageDecodeInfo, ImageDecoder, RgbImage } from './types.ts';

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

/** What each decodable format's decoder is; sharp's names carry the libvips version (sharpDecode.ts). */
const OWN_DECODERS = {
  png: 'fusionscope-png',
  jpeg: 'fusionscope-jpeg',
  bmp: 'fusionscope-bmp',
} as const satisfies Record<string, ImageDecoder>;
type OwnFormat = keyof typeof OWN_DECODERS;

const isOwn = (format: string): format is OwnFormat => Object.hasOwn(OWN_DECODERS, format);
const isSharp = (format: string): format is SharpFormat =>
  (SHARP_FORMATS as readonly string[]).includes(format);

/** Every format `loadImage` reads, in the order messages list them. */
export const DECODABLE_FORMATS: readonly DecodableFormat[] = ['png', 'jpeg', 'bmp', ...SHARP_FORMATS];

const DECODABLE_LIST = 'PNG, JPEG, BMP, WebP, GIF, TIFF and AVIF are read';

/** Why a detected format is refused, where more than "not supported" helps. */
const REFUSED_WHY: Partial<Record<DetectedFormat, string>> = {
  heif: 'HEIC/HEVC decoding is not included in the prebuilt libvips',
};

/** The name results record for `format`'s decoder. */
export async function imageDecoderName(format: DecodableFormat): Promise<ImageDecoder> {
  return isOwn(format) ? OWN_DECODERS[format] : ((await sharpDecoderName(format)) as ImageDecoder);
}

/** A format we decode, or a BAD_IMAGE error saying what the bytes are instead (never the bytes). */
export function decodableFormat(bytes: Uint8Array, name: string): DecodableFormat {
  const format = detectFormat(bytes);
  if (format === null) {
    throw new FusionError(
      'BAD_IMAGE',
      `${name}: not an image (${describeNonImage(bytes)}; ${DECODABLE_LIST})`,
    );
  }
  if (isOwn(format) || isSharp(format)) return format;
  const why = REFUSED_WHY[format] ? `: ${REFUSED_WHY[format]}` : '';
  throw new FusionError(
    'BAD_IMAGE',
    `${name}: ${FORMAT_LABELS[format]} images are not supported${why} (${DECODABLE_LIST}); convert it to PNG first`,
  );
}

type Header =
  | { readonly format: 'png'; readonly info: PngInfo; readonly exif: Uint8Array | null }
  | { readonly format: 'jpeg'; readonly info: JpegInfo; readonly exif: Uint8Array | null }
  | { readonly format: 'bmp'; readonly info: BmpInfo; readonly exif: null }
  | { readonly format: SharpFormat; readonly info: SharpHeader; readonly exif: null };

const sizeOf = (header: Header): { width: number; height: number } =>
  header.format === 'jpeg' ? header.info.frame : header.info;

/** The format's header (PNG chunk list, JPEG SOF, BMP headers, libvips metadata), pixel cap enforced. */
async function readHeader(
  bytes: Uint8Array,
  format: DecodableFormat,
  name: string,
  maxPixels: number,
): Promise<Header> {
  let header: Header;
  if (format === 'png') {
    const info = readPngInfo(bytes);
    header = { format, info, exif: info.exif };
  } else if (format === 'jpeg') {
    const info = readJpegInfo(bytes);
    header = { format, info, exif: info.exif };
  } else if (format === 'bmp') {
    header = { format, info: readBmpInfo(bytes), exif: null };
  } else {
    header = { format, info: await readSharpHeader(bytes, format), exif: null };
  }
  const { width, height } = sizeOf(header);
  checkPixels(name, width, height, maxPixels);
  return header;
}

const DECODER_ERRORS = [PngError, JpegError, BmpError, SharpDecodeError];

function imageError(error: unknown, name: string, format: DecodableFormat): FusionError {
  if (error instanceof FusionError) return error;
  if (DECODER_ERRORS.some((type) => error instanceof type)) {
    return new FusionError(
      'BAD_IMAGE',
      `${name}: invalid ${FORMAT_LABELS[format]}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  // Anything else (a RangeError from a hostile length, an allocation failure) is still a bad image,
  // never an uncaught crash.
  return new FusionError('BAD_IMAGE', `${name}: cannot decode ${FORMAT_LABELS[format]} (${String(error)})`, {
    cause: error,
  });
}

/** "GIF: first of 12 frames used", for an animated GIF/WebP or a multi-page TIFF. */
function frameNotes(header: Header): string[] {
  if (!('pages' in header.info) || header.info.pages <= 1) return [];
  const unit = header.format === 'tiff' ? 'pages' : 'frames';
  return [`${FORMAT_LABELS[header.format]}: first of ${header.info.pages} ${unit} used`];
}

async function decodePixels(bytes: Uint8Array, header: Header, maxPixels: number): Promise<RgbImage> {
  switch (header.format) {
    case 'png':
      return applyExifOrientation(decodePng(bytes, header.info), orientationOf(header));
    case 'jpeg':
      return applyExifOrientation(decodeJpeg(bytes), orientationOf(header));
    case 'bmp':
      return decodeBmp(bytes, header.info);
    default:
      return decodeWithSharp(bytes, maxPixels);
  }
}

const orientationOf = (header: Header) => (header.exif ? readExifOrientation(header.exif) : null);

/**
 * Decodes any format of DECODABLE_FORMATS to RGB (EXIF orientation applied), enforcing the pixel cap
 * before any pixel data is decompressed; `decoded` says which decoder read it.
 */
export async function decodeImage(
  bytes: Uint8Array,
  name: string,
  maxPixels: number = DEFAULT_MAX_PIXELS,
): Promise<RgbImage & { readonly decoded: ImageDecodeInfo }> {
  // Never the file's bytes: an image path may point anywhere (a link to /etc/shadow, say).
  const format = decodableFormat(bytes, name);
  try {
    const header = await readHeader(bytes, format, name, maxPixels);
    const rgb = await decodePixels(bytes, header, maxPixels);
    const decoded = { format, decoder: await imageDecoderName(format), notes: frameNotes(header) };
    return { width: rgb.width, height: rgb.height, data: rgb.data, decoded };
  } catch (error) {
    throw imageError(error, name, format);
  }
}

export interface ImageHeader {
  readonly format: DecodableFormat;
  /** As stored, before EXIF orientation. */
  readonly width: number;
  readonly height: number;
}

/**
 * What `decodeImage` checks before decompressing anything (format, header, chunk list, pixel cap),
 * for checking many images cheaply (dataset import). Errors quote no byte of the file: it may be
 * anything a dataset names.
 */
export async function readImageHeader(
  bytes: Uint8Array,
  name: string,
  maxPixels: number = DEFAULT_MAX_PIXELS,
): Promise<ImageHeader> {
  const format = decodableFormat(bytes, name);
  try {
    const header = await readHeader(bytes, format, name, maxPixels);
    return { format, ...sizeOf(header) };
  } catch (error) {
    throw imageError(error, name, format);
  }
}

/**
 * The decoder that would read the image file at `path`, from its first bytes only (no decoding), or
 * null when it is no image we decode or cannot be read. For provenance over whole datasets.
 */
export async function fileDecoder(path: string): Promise<ImageDecoder | null> {
  try {
    const { handle } = await openRegularFile(path);
    try {
      const head = new Uint8Array(64);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      return await imageDecoderName(decodableFormat(head.subarray(0, bytesRead), path));
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
}

/** Loads an image from a file path or from its bytes. */
export async function loadImage(
  source: string | Uint8Array,
  options: LoadImageOptions = {},
): Promise<RgbImage & { readonly decoded: ImageDecodeInfo }> {
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
