/**
 * BMP: a strict decoder for the uncompressed forms, giving what Pillow 9.4's BmpImagePlugin followed by
 * `convert("RGB")` gives (checked against Pillow on the fixtures, fixtures/make_format_fixtures.py):
 * - headers of 12 (OS/2 1.x), 40 (INFO), 64 (OS/2 2.x, read as INFO), 108 (V4) and 124 (V5) bytes;
 *   52 and 56 (Adobe V2/V3) are refused, as Pillow refuses them;
 * - BI_RGB at 1, 4 and 8 bits (palette; an index past the palette reads Pillow's default entry
 *   (i, i, i)), 16 bits (5-5-5), 24 bits and 32 bits (the fourth byte ignored);
 * - BI_BITFIELDS with exactly the masks Pillow accepts (16-bit 5-6-5 and 5-5-5, 24-bit BGR, and the six
 *   32-bit layouts), alpha dropped without compositing;
 * - bottom-up rows, or top-down when the height is negative (Pillow tests the height's top byte);
 * - 5- and 6-bit channels widened as Pillow's unpackers do: `v * 255 / 31` (or 63), truncated.
 * RLE4/RLE8, embedded JPEG/PNG and the other compressions are refused by name; so are palettes over
 * 256 colours (Pillow cannot hold them) and pixel data cut short (Pillow: "image file is truncated").
 */
import type { RgbImage } from './types.ts';

export class BmpError extends Error {
  override readonly name = 'BmpError';
}

const FILE_HEADER = 14;
const HEADER_SIZES = new Set([12, 40, 64, 108, 124]);

const COMPRESSION_NAMES: Readonly<Record<number, string>> = {
  1: 'RLE8',
  2: 'RLE4',
  4: 'embedded JPEG',
  5: 'embedded PNG',
  6: 'BI_ALPHABITFIELDS',
  11: 'CMYK',
  12: 'CMYK RLE8',
  13: 'CMYK RLE4',
};
const BI_RGB = 0;
const BI_BITFIELDS = 3;

/** How one pixel's bytes become R, G, B (a Pillow raw mode); `bits` per pixel. */
type Layout =
  | { readonly kind: 'palette'; readonly bits: 1 | 4 | 8 }
  | {
      readonly kind: 'bytes';
      readonly bits: 24 | 32;
      readonly r: number;
      readonly g: number;
      readonly b: number;
    }
  | { readonly kind: 'bgr15' | 'bgr16'; readonly bits: 16 };

/** Pillow's accepted 32-bit bitfields (r, g, b, a masks) → byte offsets of R, G, B in the pixel. */
const MASKS_32: readonly (readonly [readonly number[], readonly [number, number, number]])[] = [
  [
    [0xff0000, 0xff00, 0xff, 0],
    [2, 1, 0],
  ], // BGRX
  [
    [0xff000000, 0xff0000, 0xff00, 0],
    [3, 2, 1],
  ], // XBGR
  [
    [0xff000000, 0xff0000, 0xff00, 0xff],
    [3, 2, 1],
  ], // ABGR
  [
    [0xff, 0xff00, 0xff0000, 0xff000000],
    [0, 1, 2],
  ], // RGBA
  [
    [0xff0000, 0xff00, 0xff, 0xff000000],
    [2, 1, 0],
  ], // BGRA
  [
    [0, 0, 0, 0],
    [2, 1, 0],
  ], // BGRA (Pillow's reading of all-zero masks)
];

export interface BmpInfo {
  readonly width: number;
  readonly height: number;
  readonly topDown: boolean;
  readonly layout: Layout;
  /** RGB triples, `colors` of them (palette layouts only). */
  readonly palette: Uint8Array;
  readonly dataOffset: number;
  readonly stride: number;
}

const u16 = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const u32 = (b: Uint8Array, at: number) =>
  (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

function need(bytes: Uint8Array, end: number, what: string): void {
  if (bytes.length < end) throw new BmpError(`file ends inside the ${what}`);
}

function bitfieldLayout(bits: number, masks: readonly number[]): Layout {
  const same = (a: readonly number[], b: readonly number[]) => b.every((v, i) => a[i] === v);
  if (bits === 32) {
    const found = MASKS_32.find(([m]) => same(masks, m));
    if (found) return { kind: 'bytes', bits, r: found[1][0], g: found[1][1], b: found[1][2] };
  } else if (bits === 24 && same(masks, [0xff0000, 0xff00, 0xff])) {
    return { kind: 'bytes', bits, r: 2, g: 1, b: 0 };
  } else if (bits === 16 && same(masks, [0xf800, 0x7e0, 0x1f])) {
    return { kind: 'bgr16', bits };
  } else if (bits === 16 && same(masks, [0x7c00, 0x3e0, 0x1f])) {
    return { kind: 'bgr15', bits };
  }
  const shown = masks.map((m) => `0x${m.toString(16)}`).join(', ');
  throw new BmpError(`unsupported ${bits}-bit BI_BITFIELDS layout (masks ${shown})`);
}

/** Reads the headers and palette and checks that every row of pixel data is present. */
export function readBmpInfo(bytes: Uint8Array): BmpInfo {
  need(bytes, FILE_HEADER + 4, 'file header');
  if (bytes[0] !== 0x42 || bytes[1] !== 0x4d) throw new BmpError('no "BM" signature');
  let dataOffset = u32(bytes, 10);
  const headerSize = u32(bytes, FILE_HEADER);
  if (!HEADER_SIZES.has(headerSize)) {
    throw new BmpError(`unsupported header of ${headerSize} bytes (12, 40, 64, 108 or 124 are read)`);
  }
  need(bytes, FILE_HEADER + headerSize, 'bitmap header');
  const h = FILE_HEADER + 4; // the header's fields, after its size
  let width: number;
  let height: number;
  let bits: number;
  let compression = BI_RGB;
  let colors = 0;
  let topDown = false;
  let paletteEntry = 4;
  let masks: number[] = [];
  let cursor = FILE_HEADER + headerSize;
  if (headerSize === 12) {
    [width, height, bits] = [u16(bytes, h), u16(bytes, h + 2), u16(bytes, h + 6)];
    paletteEntry = 3;
  } else {
    // Pillow reads a negative height from its top byte alone (0xFF: top-down, then 2^32 - value).
    topDown = bytes[h + 7] === 0xff;
    width = u32(bytes, h);
    height = topDown ? 2 ** 32 - u32(bytes, h + 4) : u32(bytes, h + 4);
    bits = u16(bytes, h + 10);
    compression = u32(bytes, h + 12);
    colors = u32(bytes, h + 28);
    if (compression === BI_BITFIELDS) {
      if (headerSize >= 52) {
        masks = [0, 1, 2, 3].map((i) => u32(bytes, h + 36 + i * 4));
      } else {
        // A 40-byte header is followed by three masks (no alpha mask).
        need(bytes, cursor + 12, 'bitfield masks');
        masks = [0, 1, 2].map((i) => u32(bytes, cursor + i * 4)).concat(0);
        cursor += 12;
      }
    }
  }
  if (width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new BmpError(`invalid size ${width}x${height}`);
  }
  let layout: Layout;
  if (compression === BI_BITFIELDS) {
    layout = bitfieldLayout(bits, bits === 32 ? masks : masks.slice(0, 3));
  } else if (compression !== BI_RGB) {
    const name = COMPRESSION_NAMES[compression] ?? `compression ${compression}`;
    throw new BmpError(`${name} BMPs are not supported (uncompressed BI_RGB and BI_BITFIELDS are)`);
  } else if (bits === 1 || bits === 4 || bits === 8) layout = { kind: 'palette', bits };
  else if (bits === 16) layout = { kind: 'bgr15', bits };
  else if (bits === 24 || bits === 32) layout = { kind: 'bytes', bits, r: 2, g: 1, b: 0 };
  else throw new BmpError(`unsupported pixel depth of ${bits} bits`);

  let palette = new Uint8Array(0);
  if (layout.kind === 'palette') {
    const count = colors || 1 << bits;
    if (count > 256) throw new BmpError(`palette of ${count} colours (at most 256)`);
    // As Pillow: a data offset pointing just past the header means the palette was not counted.
    if (dataOffset === FILE_HEADER + headerSize) dataOffset += 4 * count;
    need(bytes, cursor + count * paletteEntry, 'palette');
    palette = new Uint8Array(count * 3);
    for (let i = 0; i < count; i++) {
      const at = cursor + i * paletteEntry;
      palette.set([bytes[at + 2], bytes[at + 1], bytes[at]], i * 3);
    }
  }
  const stride = ((width * bits + 31) >>> 3) & ~3;
  // Pillow's raw decoder wants every row whole, padding included, or the file is "truncated".
  if (bytes.length < dataOffset + stride * height) throw new BmpError('pixel data is truncated');
  return { width, height, topDown, layout, palette, dataOffset, stride };
}

/** 5- or 6-bit channel widened as Pillow's BGR;15 / BGR;16 unpackers do. */
const widen = (value: number, max: number) => Math.trunc((value * 255) / max);

export function decodeBmp(bytes: Uint8Array, info: BmpInfo = readBmpInfo(bytes)): RgbImage {
  const { width, height, layout, palette, stride } = info;
  const out = new Uint8Array(width * height * 3);
  const colors = palette.length / 3;
  for (let y = 0; y < height; y++) {
    const row = info.dataOffset + (info.topDown ? y : height - 1 - y) * stride;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      switch (layout.kind) {
        case 'palette': {
          const perByte = 8 / layout.bits;
          const byte = bytes[row + Math.floor(x / perByte)];
          const shift = 8 - layout.bits * ((x % perByte) + 1);
          const index = (byte >> shift) & ((1 << layout.bits) - 1);
          if (index < colors) out.set(palette.subarray(index * 3, index * 3 + 3), o);
          else out.fill(index, o, o + 3);
          break;
        }
        case 'bytes': {
          const at = row + x * (layout.bits / 8);
          out[o] = bytes[at + layout.r];
          out[o + 1] = bytes[at + layout.g];
          out[o + 2] = bytes[at + layout.b];
          break;
        }
        case 'bgr15':
        case 'bgr16': {
          const v = u16(bytes, row + x * 2);
          const green = layout.kind === 'bgr16' ? [(v >> 5) & 63, 63] : [(v >> 5) & 31, 31];
          out[o] = widen(layout.kind === 'bgr16' ? (v >> 11) & 31 : (v >> 10) & 31, 31);
          out[o + 1] = widen(green[0], green[1]);
          out[o + 2] = widen(v & 31, 31);
          break;
        }
      }
    }
  }
  return { width, height, data: out };
}
