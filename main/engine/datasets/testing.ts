/** Test-only helpers: a fresh temporary folder per test and tiny fixture files written into it. */
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { PNG } from 'pngjs';
import { afterEach, beforeEach } from 'vitest';

import { crc32 } from '../image/crc32.ts';

/** Registers hooks giving each test its own empty folder; call `dir()` inside a test. */
export function useTempDir(): { dir: () => string; at: (...parts: string[]) => string } {
  let current = '';
  beforeEach(async () => {
    // Real path: items carry their image's real path, and macOS's tmpdir is behind a symbolic link.
    current = await realpath(await mkdtemp(join(tmpdir(), 'fusionscope-datasets-')));
  });
  afterEach(() => rm(current, { recursive: true, force: true }));
  return { dir: () => current, at: (...parts) => join(current, ...parts) };
}

async function write(path: string, data: string | Buffer): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
  return path;
}

const ONE_PIXEL = PNG.sync.write(
  Object.assign(new PNG({ width: 1, height: 1 }), { data: Buffer.from([9, 9, 9, 255]) }),
);

/** A 1×1 PNG (the readers only check that image files exist; the name's extension is not trusted). */
export const writePng = (path: string) => write(path, ONE_PIXEL);

function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A PNG that is only a valid header (IHDR, IEND): enough to claim any size without the pixels. */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([ONE_PIXEL.subarray(0, 8), chunk('IHDR', ihdr), chunk('IEND', Buffer.alloc(0))]);
}

/** The 1×1 PNG with its IHDR checksum broken (Pillow: "broken PNG file"). */
export function corruptPng(): Buffer {
  const bytes = Buffer.from(ONE_PIXEL);
  bytes[29] ^= 0xff; // the IHDR CRC: 8 signature + 8 length/type + 13 data
  return bytes;
}

export const writeBytes = (path: string, bytes: Buffer) => write(path, bytes);

export const writeJson = (path: string, value: unknown) => write(path, JSON.stringify(value, null, 1));

/** One line per row; strings are written as they are (to plant malformed lines). */
export const writeLines = (path: string, rows: unknown[]) =>
  write(path, rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');

export const writeText = (path: string, text: string) => write(path, text);
