/**
 * A zip file written front to back in one pass (APPNOTE 6.3): STORED members, whose size and CRC-32 are
 * known before their bytes are written, so no data descriptors are needed. ZIP64 records appear where a
 * size or an offset reaches 4 GiB or there are 65 535 members or more (hidden states of many samples pass
 * 4 GiB easily). Names are UTF-8 (flag bit 11); every timestamp is 1980-01-01 00:00, so the same content
 * always gives the same bytes.
 *
 *   [local header, name, (zip64 extra), data] × members · [central header, name, (zip64 extra)] × members
 *   · (zip64 end record · zip64 locator) · end record
 */
import { crc32 } from 'node:zlib';

import { FusionError } from '../../common/errors.ts';
import { OutputFile } from './outputFile.ts';

export interface ZipOptions {
  /** 'always': ZIP64 records for every member and the end, needed or not (tests their readers). */
  readonly zip64?: 'auto' | 'always';
}

interface Entry {
  readonly name: Buffer;
  readonly crc: number;
  readonly size: number;
  readonly offset: number;
  readonly zip64: boolean;
}

const U16 = 0xffff;
const U32 = 0xffffffff;
const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const END64 = 0x06064b50;
const LOCATOR64 = 0x07064b50;
const UTF8_NAMES = 0x0800;
/** "version needed to extract": 2.0 for plain stored members, 4.5 for ZIP64. */
const VERSION = 20;
const VERSION64 = 45;
/** MS-DOS date of 1980-01-01: (year − 1980) << 9 | month << 5 | day. */
const DOS_DATE = (1 << 5) | 1;

/** The ZIP64 extended-information extra field (id 0x0001) holding `values` as 8-byte integers. */
function zip64Extra(values: readonly number[]): Buffer {
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => extra.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return extra;
}

export class ZipWriter {
  private readonly file: OutputFile;
  private readonly entries: Entry[] = [];
  private readonly names = new Set<string>();
  private done = false;

  /** Creates `path`, which must not exist. */
  constructor(
    readonly path: string,
    private readonly options: ZipOptions = {},
  ) {
    this.file = new OutputFile(path);
  }

  /** Appends one member whose bytes are `chunks` in order. */
  add(name: string, chunks: readonly Uint8Array[]): void {
    if (this.done) throw new FusionError('INTERNAL', `zip ${this.path} is already closed`);
    if (name === '' || this.names.has(name)) {
      throw new FusionError('INTERNAL', `zip member name ${JSON.stringify(name)} is empty or used twice`);
    }
    this.names.add(name);
    let crc = 0;
    let size = 0;
    for (const chunk of chunks) {
      // Node 20's crc32 returns 0 for an empty chunk whatever the running value: skip those.
      if (chunk.byteLength > 0) crc = crc32(chunk, crc);
      size += chunk.byteLength;
    }
    const offset = this.offset;
    const always = this.options.zip64 === 'always';
    const bigSize = always || size >= U32;
    const nameBytes = Buffer.from(name, 'utf8');
    if (nameBytes.length > U16)
      throw new FusionError('INTERNAL', `zip member name of ${nameBytes.length} bytes`);
    // The local header carries both sizes in its ZIP64 field when they do not fit 4 bytes.
    const extra = bigSize ? zip64Extra([size, size]) : Buffer.alloc(0);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(LOCAL, 0);
    header.writeUInt16LE(bigSize ? VERSION64 : VERSION, 4);
    header.writeUInt16LE(UTF8_NAMES, 6);
    header.writeUInt16LE(0, 8); // STORED
    header.writeUInt16LE(0, 10);
    header.writeUInt16LE(DOS_DATE, 12);
    header.writeUInt32LE(crc >>> 0, 14);
    header.writeUInt32LE(bigSize ? U32 : size, 18);
    header.writeUInt32LE(bigSize ? U32 : size, 22);
    header.writeUInt16LE(nameBytes.length, 26);
    header.writeUInt16LE(extra.length, 28);
    this.write(header);
    this.write(nameBytes);
    this.write(extra);
    for (const chunk of chunks) this.write(chunk);
    this.entries.push({ name: nameBytes, crc: crc >>> 0, size, offset, zip64: bigSize || offset >= U32 });
  }

  /** Writes the central directory and the end records, and closes the file. */
  close(): void {
    if (this.done) return;
    this.done = true;
    try {
      const start = this.offset;
      for (const entry of this.entries) this.writeCentral(entry);
      this.writeEnd(start, this.offset - start);
    } catch (error) {
      this.file.abort();
      throw error;
    }
    this.file.close();
  }

  /** Closes the file as it is (an unfinished zip; the caller removes it). */
  abort(): void {
    this.done = true;
    this.file.abort();
  }

  private writeCentral(entry: Entry): void {
    // A ZIP64 entry puts all three of size, compressed size and offset in its extra field.
    const extra = entry.zip64 ? zip64Extra([entry.size, entry.size, entry.offset]) : Buffer.alloc(0);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(CENTRAL, 0);
    header.writeUInt16LE(VERSION64, 4); // made by: MS-DOS attributes, spec 4.5
    header.writeUInt16LE(entry.zip64 ? VERSION64 : VERSION, 6);
    header.writeUInt16LE(UTF8_NAMES, 8);
    header.writeUInt16LE(0, 10);
    header.writeUInt16LE(0, 12);
    header.writeUInt16LE(DOS_DATE, 14);
    header.writeUInt32LE(entry.crc, 16);
    header.writeUInt32LE(entry.zip64 ? U32 : entry.size, 20);
    header.writeUInt32LE(entry.zip64 ? U32 : entry.size, 24);
    header.writeUInt16LE(entry.name.length, 28);
    header.writeUInt16LE(extra.length, 30);
    // Comment length, disk number, internal and external attributes: all 0.
    header.writeUInt32LE(entry.zip64 ? U32 : entry.offset, 42);
    this.write(header);
    this.write(entry.name);
    this.write(extra);
  }

  private writeEnd(directoryOffset: number, directorySize: number): void {
    const count = this.entries.length;
    const zip64 =
      this.options.zip64 === 'always' || count >= U16 || directoryOffset >= U32 || directorySize >= U32;
    if (zip64) {
      const record = Buffer.alloc(56);
      const at = this.offset;
      record.writeUInt32LE(END64, 0);
      record.writeBigUInt64LE(44n, 4); // the record's size after this field
      record.writeUInt16LE(VERSION64, 12);
      record.writeUInt16LE(VERSION64, 14);
      // This disk and the directory's disk: 0.
      record.writeBigUInt64LE(BigInt(count), 24);
      record.writeBigUInt64LE(BigInt(count), 32);
      record.writeBigUInt64LE(BigInt(directorySize), 40);
      record.writeBigUInt64LE(BigInt(directoryOffset), 48);
      this.write(record);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(LOCATOR64, 0);
      locator.writeBigUInt64LE(BigInt(at), 8);
      locator.writeUInt32LE(1, 16); // disks in all
      this.write(locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(END, 0);
    end.writeUInt16LE(zip64 ? U16 : count, 8);
    end.writeUInt16LE(zip64 ? U16 : count, 10);
    end.writeUInt32LE(zip64 ? U32 : directorySize, 12);
    end.writeUInt32LE(zip64 ? U32 : directoryOffset, 16);
    this.write(end);
  }

  private get offset(): number {
    return this.file.offset;
  }

  private write(bytes: Uint8Array): void {
    this.file.write(bytes);
  }
}
