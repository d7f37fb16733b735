/**
 * Images a benchmark carries inside its own files (VLMEvalKit TSV base64 fields, Parquet image bytes)
 * are written once to a content-addressed folder, so every item still has an `imagePath` the engine
 * loads, the app serves and provenance hashes like any image file. A file's name is the SHA-256 of its
 * bytes with the extension of the format its magic bytes say (the image module's sniffing), so the
 * same image referenced by many rows, or opened again, is stored once; files are written under a
 * temporary name and renamed into place, so a reader never sees half an image.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { FusionError } from '../../common/errors.ts';
import { decodableFormat, maxImageFileBytes } from '../image/load.ts';
import type { DecodableFormat } from '../image/types.ts';
import { defaultModelCacheDir } from '../model/modelCache.ts';

const EXTENSIONS: Readonly<Record<DecodableFormat, string>> = {
  png: 'png',
  jpeg: 'jpg',
  bmp: 'bmp',
  webp: 'webp',
  gif: 'gif',
  tiff: 'tif',
  avif: 'avif',
};

/**
 * `FUSIONSCOPE_IMAGE_CACHE`, else `dataset-images` beside the model cache (whose parent is
 * FusionScope's cache folder on every platform).
 */
export function defaultImageCacheDir(): string {
  return process.env.FUSIONSCOPE_IMAGE_CACHE || join(dirname(defaultModelCacheDir()), 'dataset-images');
}

export type Stored = { readonly name: string } | { readonly reason: string };

export class EmbeddedImages {
  private created: Promise<unknown> | undefined;
  private readonly written = new Map<string, Promise<void>>();

  constructor(readonly dir: string) {}

  /**
   * Stores `bytes` (an image of a format the engine decodes) and returns its file name in `dir`, or
   * why it is not a usable image; `label` names it in that reason (`column "image"`).
   */
  async store(bytes: Uint8Array, label: string): Promise<Stored> {
    if (bytes.length === 0) return { reason: `${label} is empty` };
    const limit = maxImageFileBytes();
    if (bytes.length > limit) {
      return { reason: `${label} is ${bytes.length} bytes, more than the ${limit} bytes an image may have` };
    }
    let format: DecodableFormat;
    try {
      format = decodableFormat(bytes, label);
    } catch (error) {
      if (error instanceof FusionError) return { reason: error.message };
      throw error;
    }
    const name = `${createHash('sha256').update(bytes).digest('hex').slice(0, 40)}.${EXTENSIONS[format]}`;
    let pending = this.written.get(name);
    if (pending === undefined) {
      pending = this.write(name, bytes);
      this.written.set(name, pending);
    }
    await pending;
    return { name };
  }

  private async write(name: string, bytes: Uint8Array): Promise<void> {
    const path = join(this.dir, name);
    const existing = await stat(path).catch(() => null);
    if (existing?.isFile() && existing.size === bytes.length) return;
    this.created ??= mkdir(this.dir, { recursive: true });
    await this.created;
    const temporary = join(this.dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFile(temporary, bytes);
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      const code = (error as NodeJS.ErrnoException).code ?? 'write error';
      throw new FusionError(
        'BAD_DATASET',
        `cannot write the dataset's embedded images to ${this.dir} (${code}); set FUSIONSCOPE_IMAGE_CACHE to a writable folder`,
        { cause: error },
      );
    }
  }
}

/** Standard base64 as Python's `b64encode` writes it (no line breaks, padded), or why not. */
export function decodeBase64(text: string): Uint8Array | string {
  const trimmed = text.trim();
  if (trimmed.length % 4 !== 0) return `not base64 (length ${trimmed.length} is not a multiple of 4)`;
  const bad = trimmed.search(/[^A-Za-z0-9+/=]|=(?=[^=])/);
  if (bad !== -1) return `not base64 (unexpected character at offset ${bad})`;
  if (/={3,}$/.test(trimmed)) return 'not base64 (too much padding)';
  const bytes = Buffer.from(trimmed, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}
