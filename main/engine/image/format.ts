/** Image format detection from magic bytes; the file extension is never trusted. */

export type DetectedFormat =
  | 'png'
  | 'jpeg'
  | 'gif'
  | 'bmp'
  | 'webp'
  | 'tiff'
  | 'heif'
  | 'avif'
  | 'ico'
  | 'jpeg2000'
  | 'jpegxl'
  | 'psd'
  | 'qoi';

export const FORMAT_LABELS: Readonly<Record<DetectedFormat, string>> = {
  png: 'PNG',
  jpeg: 'JPEG',
  gif: 'GIF',
  bmp: 'BMP',
  webp: 'WebP',
  tiff: 'TIFF',
  heif: 'HEIF/HEIC',
  avif: 'AVIF',
  ico: 'ICO',
  jpeg2000: 'JPEG 2000',
  jpegxl: 'JPEG XL',
  psd: 'Photoshop PSD',
  qoi: 'QOI',
};

function ascii(bytes: Uint8Array, start: number, text: string): boolean {
  if (bytes.length < start + text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[start + i] !== text.charCodeAt(i)) return false;
  return true;
}

function hex(bytes: Uint8Array, start: number, values: readonly number[]): boolean {
  if (bytes.length < start + values.length) return false;
  return values.every((v, i) => bytes[start + i] === v);
}

export function detectFormat(bytes: Uint8Array): DetectedFormat | null {
  if (hex(bytes, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (hex(bytes, 0, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (ascii(bytes, 0, 'GIF87a') || ascii(bytes, 0, 'GIF89a')) return 'gif';
  if (ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WEBP')) return 'webp';
  if (ascii(bytes, 0, 'II*\0') || ascii(bytes, 0, 'MM\0*')) return 'tiff';
  if (ascii(bytes, 4, 'ftyp')) {
    if (ascii(bytes, 8, 'avif') || ascii(bytes, 8, 'avis')) return 'avif';
    if (['heic', 'heix', 'hevc', 'hevx', 'mif1', 'msf1'].some((b) => ascii(bytes, 8, b))) return 'heif';
  }
  if (
    hex(bytes, 0, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20]) ||
    hex(bytes, 0, [0xff, 0x4f, 0xff, 0x51])
  ) {
    return 'jpeg2000';
  }
  if (hex(bytes, 0, [0xff, 0x0a]) || hex(bytes, 0, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20]))
    return 'jpegxl';
  if (ascii(bytes, 0, '8BPS')) return 'psd';
  if (ascii(bytes, 0, 'qoif')) return 'qoi';
  // BMP and ICO signatures are short, so also check a plausible header field.
  if (ascii(bytes, 0, 'BM') && bytes.length >= 18 && [12, 40, 52, 56, 64, 108, 124].includes(bytes[14]))
    return 'bmp';
  if (hex(bytes, 0, [0x00, 0x00, 0x01, 0x00]) && bytes.length >= 6 && bytes[4] + bytes[5] > 0) return 'ico';
  return null;
}

/**
 * What bytes that are no image look like, for error messages: a kind of file, never its content
 * (an image path may point anywhere, a link to a secret included).
 */
export function describeNonImage(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'the file is empty';
  if (ascii(bytes, 0, '%PDF')) return 'a PDF document';
  if (hex(bytes, 0, [0x50, 0x4b, 0x03, 0x04])) return 'a ZIP archive';
  if (hex(bytes, 0, [0x1f, 0x8b])) return 'a gzip archive';
  if (ascii(bytes, 0, 'PAR1')) return 'a Parquet file';
  if (ascii(bytes, 4, 'ftyp')) return 'an ISO media file (video or an unsupported image)';
  const head = bytes.subarray(0, 512);
  // Printable ASCII, tabs and line breaks, or UTF-8 lead/continuation bytes: most likely text.
  const text = head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b !== 127));
  if (text) {
    const first = head.find((b) => b !== 32 && b !== 9 && b !== 10 && b !== 13);
    if (first === 0x3c) return 'text that looks like XML, SVG or HTML';
    return 'text, not an image';
  }
  return 'unknown signature';
}
