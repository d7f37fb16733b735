/**
 * A minimal ZIP writer (PKWARE APPNOTE 6.3.x, store only, no ZIP64): reports are a few dozen files of
 * a few MB, mostly PNGs that deflate would not shrink. Names are UTF-8 (general-purpose flag bit 11).
 *
 *   [local header + name + data] × n   [central directory entry] × n   [end of central directory]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { FusionError } from '../common/errors.ts';
import { crc32 } from '../engine/image/crc32.ts';

export interface ZipEntry {
  readonly name: string;
  readonly data: Uint8Array;
}

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const UTF8_NAMES = 0x0800;
const VERSION = 20; // 2.0: the lowest version readers expect for folders and stored files
const MAX_32 = 0xffffffff;

/** MS-DOS date and time fields (2-second resolution, years from 1980). */
function dosDateTime(date: Date): { time: number; date: number } {
  const year = Math.max(1980, date.getFullYear());
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

export function zip(entries: readonly ZipEntry[], modified = new Date()): Uint8Array {
  if (entries.length > 0xffff)
    throw new FusionError('BAD_ARGUMENT', `a zip holds at most 65535 files, got ${entries.length}`);
  const stamp = dosDateTime(modified);
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = encoder.encode(entry.name);
    const crc = crc32(entry.data);
    const size = entry.data.length;
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, LOCAL, true);
    local.setUint16(4, VERSION, true);
    local.setUint16(6, UTF8_NAMES, true);
    local.setUint16(8, 0, true); // stored
    local.setUint16(10, stamp.time, true);
    local.setUint16(12, stamp.date, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, size, true);
    local.setUint32(22, size, true);
    local.setUint16(26, name.length, true);
    local.setUint16(28, 0, true);
    const header = new DataView(new ArrayBuffer(46));
    header.setUint32(0, CENTRAL, true);
    header.setUint16(4, VERSION, true);
    header.setUint16(6, VERSION, true);
    header.setUint16(8, UTF8_NAMES, true);
    header.setUint16(10, 0, true);
    header.setUint16(12, stamp.time, true);
    header.setUint16(14, stamp.date, true);
    header.setUint32(16, crc, true);
    header.setUint32(20, size, true);
    header.setUint32(24, size, true);
    header.setUint16(28, name.length, true);
    // extra length, comment length, disk number, internal and external attributes: all 0
    header.setUint32(42, offset, true);
    parts.push(new Uint8Array(local.buffer), name, entry.data);
    central.push(new Uint8Array(header.buffer), name);
    offset += 30 + name.length + size;
    if (offset > MAX_32) throw new FusionError('BAD_ARGUMENT', 'a zip without ZIP64 holds at most 4 GiB');
  }
  const centralSize = central.reduce((sum, part) => sum + part.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, END, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, centralSize, true);
  end.setUint32(16, offset, true);
  return Buffer.concat([...parts, ...central, new Uint8Array(end.buffer)]);
}

/** Zips `names` (relative paths inside `dir`), in that order. */
export async function zipFolder(dir: string, names: readonly string[]): Promise<Uint8Array> {
  const entries = await Promise.all(
    names.map(async (name) => ({ name, data: new Uint8Array(await readFile(join(dir, name))) })),
  );
  return zip(entries);
}
