// Renders build/icons/icon.svg into every icon electron-builder.yml names, with @resvg/resvg-js:
//   build/icons/png/<N>x<N>.png   Linux (AppImage, deb) and the window icon, N = 16 … 1024
//   build/icons/icon.ico          Windows (NSIS): PNG-compressed entries, 16 … 256
//   build/icons/icon.icns         macOS (dmg): PNG entries, 16 … 1024 (@1x and @2x)
// The outputs are committed (electron-builder then needs no converter, and a build machine without
// this script's dependencies still gets icons); main/host/packaging.test.ts fails when they drift from
// the SVG. After editing the SVG: node scripts/icons.mjs
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Resvg } from '@resvg/resvg-js';

export const ICON_DIR = fileURLToPath(new URL('../build/icons/', import.meta.url));
export const ICON_SOURCE = join(ICON_DIR, 'icon.svg');

/** Linux wants the hicolor sizes; 512 also serves as the window icon. */
export const PNG_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
/** Windows shows 16 to 256 (256 is the largest an .ico entry can say it is). */
export const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256];
/** Apple's icon types that hold PNG data, with their pixel size (…@2x types are the larger ones). */
export const ICNS_TYPES = [
  ['icp4', 16],
  ['icp5', 32],
  ['icp6', 64],
  ['ic07', 128],
  ['ic08', 256],
  ['ic09', 512],
  ['ic10', 1024],
  ['ic11', 32],
  ['ic12', 64],
  ['ic13', 256],
  ['ic14', 512],
];

/** The SVG as a square PNG of `size` pixels. */
export function renderPng(svg, size) {
  return Buffer.from(new Resvg(svg, { fitTo: { mode: 'width', value: size } }).render().asPng());
}

/**
 * An .ico file: ICONDIR (6 bytes), one 16-byte ICONDIRENTRY per image, then the images as PNG (allowed
 * since Windows Vista; electron-builder wants the 256 px one). Sizes of 256 are written as 0.
 * @param {{ size: number, png: Buffer }[]} images
 */
export function encodeIco(images) {
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(0, 0); // reserved
  header.writeUInt16LE(1, 2); // 1 = icon
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach(({ size, png }, i) => {
    const entry = 6 + 16 * i;
    header.writeUInt8(size >= 256 ? 0 : size, entry);
    header.writeUInt8(size >= 256 ? 0 : size, entry + 1);
    header.writeUInt8(0, entry + 2); // no palette
    header.writeUInt8(0, entry + 3); // reserved
    header.writeUInt16LE(1, entry + 4); // colour planes
    header.writeUInt16LE(32, entry + 6); // bits per pixel
    header.writeUInt32LE(png.length, entry + 8);
    header.writeUInt32LE(offset, entry + 12);
    offset += png.length;
  });
  return Buffer.concat([header, ...images.map(({ png }) => png)]);
}

/**
 * An .icns file: 'icns' and the total length (big-endian), then per image its 4-letter type, its
 * length including this 8-byte header, and its PNG bytes.
 * @param {{ type: string, png: Buffer }[]} images
 */
export function encodeIcns(images) {
  const chunks = images.map(({ type, png }) => {
    const head = Buffer.alloc(8);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(8 + png.length, 4);
    return Buffer.concat([head, png]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'latin1');
  head.writeUInt32BE(8 + chunks.reduce((sum, chunk) => sum + chunk.length, 0), 4);
  return Buffer.concat([head, ...chunks]);
}

/** Every icon file, by its path under build/icons/, rendered from the SVG's text. */
export function iconFiles(svg) {
  const png = new Map(PNG_SIZES.map((size) => [size, renderPng(svg, size)]));
  const files = new Map([...png].map(([size, bytes]) => [`png/${size}x${size}.png`, bytes]));
  files.set('icon.ico', encodeIco(ICO_SIZES.map((size) => ({ size, png: png.get(size) }))));
  files.set('icon.icns', encodeIcns(ICNS_TYPES.map(([type, size]) => ({ type, png: png.get(size) }))));
  return files;
}

async function main() {
  const files = iconFiles(await readFile(ICON_SOURCE, 'utf8'));
  for (const [name, bytes] of files) {
    const path = join(ICON_DIR, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
  }
  console.log(`wrote ${files.size} icons into ${ICON_DIR}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
