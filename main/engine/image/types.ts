/** An 8-bit RGB image, pixels interleaved R, G, B row by row (no padding). */
export type { Rect } from '../../common/analysis.ts';

/** The image formats `loadImage` decodes (format.ts sniffs them from magic bytes). */
export type DecodableFormat = 'png' | 'jpeg' | 'bmp' | 'webp' | 'gif' | 'tiff' | 'avif';

/**
 * Which decoder read an image, as results record it: one of ours (Pillow-exact), or sharp with the
 * libvips version that decoded it (e.g. `sharp-webp/libvips 8.18.8`).
 */
export type ImageDecoder =
  | 'fusionscope-png'
  | 'fusionscope-jpeg'
  | 'fusionscope-bmp'
  | `sharp-${'webp' | 'gif' | 'tiff' | 'avif'}/libvips ${string}`;

export interface ImageDecodeInfo {
  readonly format: DecodableFormat;
  readonly decoder: ImageDecoder;
  /** What a reader of the results should know, e.g. "GIF: first of 12 frames used". */
  readonly notes: readonly string[];
}

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
  /** Set on images `loadImage` decoded from a file or bytes; absent on crops and test images. */
  readonly decoded?: ImageDecodeInfo;
}
