import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { openDataset } from './openDataset.ts';
import { ImageLocator } from './paths.ts';
import {
  corruptPng,
  pngHeaderOnly,
  useTempDir,
  writeBytes,
  writeLines,
  writePng,
  writeText,
} from './testing.ts';

const { dir, at } = useTempDir();

const JPEG = readFileSync(
  fileURLToPath(new URL('../image/fixtures/inputs/cjpeg_rgb_37x29.jpg', import.meta.url)),
);

/** The fixture JPEG with a 40 KiB APP15 segment before its frame header (as big EXIF blocks do). */
function jpegWithLargeHeader(): Buffer {
  const payload = Buffer.alloc(40 * 1024, 0x41);
  const marker = Buffer.from([0xff, 0xef, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]);
  return Buffer.concat([JPEG.subarray(0, 2), marker, payload, JPEG.subarray(2)]);
}

const locator = (check = true) => new ImageLocator(dir(), ['images', '.'], check);
const reasonOf = async (name: string) => {
  const found = await locator().locate(name);
  return 'reason' in found ? found.reason : `found ${found.path}`;
};

describe('image checks at import', () => {
  it('accepts PNG and JPEG by content, whatever the name says', async () => {
    await writePng(at('images/a.jpg'));
    await writeBytes(at('images/b.png'), JPEG);
    await writeBytes(at('images/big-exif.jpg'), jpegWithLargeHeader());
    for (const name of ['a.jpg', 'b.png', 'big-exif.jpg']) {
      expect(await locator().locate(name)).toEqual({ path: at('images', name) });
    }
  });

  it('refuses a damaged WebP, a HEIC, a corrupt PNG, a non-image and an empty file, quoting none of their bytes', async () => {
    await writeText(at('images/photo.webp'), 'RIFF\x24\x00\x00\x00WEBPVP8 secret');
    await writeBytes(at('images/corrupt.png'), corruptPng());
    await writeBytes(at('images/cut.png'), pngHeaderOnly(4, 4).subarray(0, 30));
    await writeText(at('images/notes.png'), 'root:secret-hash:19000:0:99999:7:::\n');
    await writeText(at('images/empty.png'), '');
    await writeText(at('images/photo.heic'), '\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1secret');
    // A damaged WebP goes to libvips, which names its loader, never the bytes.
    const webp = await reasonOf('photo.webp');
    expect(webp).toMatch(/^image file "photo\.webp": invalid WebP: /);
    expect(webp).not.toContain('secret');
    expect(await reasonOf('photo.heic')).toBe(
      'image file "photo.heic": HEIF/HEIC images are not supported: HEIC/HEVC decoding is not included in the prebuilt libvips (PNG, JPEG, BMP, WebP, GIF, TIFF and AVIF are read); convert it to PNG first',
    );
    expect(await reasonOf('corrupt.png')).toBe(
      'image file "corrupt.png": invalid PNG: broken PNG file (bad checksum in "IHDR" chunk)',
    );
    expect(await reasonOf('cut.png')).toMatch(/^image file "cut\.png": invalid PNG: image file is truncated/);
    expect(await reasonOf('notes.png')).toBe(
      'image file "notes.png": not an image (text, not an image; PNG, JPEG, BMP, WebP, GIF, TIFF and AVIF are read)',
    );
    expect(await reasonOf('empty.png')).toBe('image file "empty.png" is empty');
  });

  it('refuses an image over the engine pixel cap from its header alone', async () => {
    await writeBytes(at('images/huge.png'), pngHeaderOnly(50_000, 50_000));
    expect(await reasonOf('huge.png')).toBe(
      'image file "huge.png": 50000x50000 = 2500000000 pixels exceeds the limit of 64000000 pixels ' +
        '(decompression-bomb guard; raise maxPixels to allow it)',
    );
  });

  it('follows a symbolic link inside the dataset, refuses one that leads outside', async () => {
    await writePng(at('images/real.png'));
    await symlink(at('images/real.png'), at('images/inside.png'));
    await symlink('/etc/passwd', at('images/passwd.png'));
    expect(await locator().locate('inside.png')).toEqual({ path: at('images/real.png') });
    expect(await reasonOf('passwd.png')).toMatch(
      /^image file "passwd\.png" resolves outside .* through a symbolic link; images must be inside the dataset/,
    );
  });

  it('refuses a folder of the dataset linked to elsewhere, unless given as the images folder', async () => {
    const elsewhere = at('elsewhere');
    await writePng(`${elsewhere}/a.png`);
    await mkdir(at('set'));
    await symlink(elsewhere, at('set/images'));
    const inSet = new ImageLocator(at('set'), ['images'], true);
    expect(await inSet.locate('a.png')).toMatchObject({ reason: expect.stringMatching(/resolves outside/) });
    const given = new ImageLocator(at('set/images'), ['.'], true);
    expect(await given.locate('a.png')).toEqual({ path: `${elsewhere}/a.png` });
  });

  it.skipIf(process.platform === 'win32')('refuses a FIFO without blocking on it', async () => {
    await mkdir(at('images'));
    execFileSync('mkfifo', [at('images/pipe.png')]);
    expect(await reasonOf('pipe.png')).toMatch(/^image file "pipe\.png": .*pipe\.png is a FIFO/);
  });

  it('checks nothing when image checks are off', async () => {
    await writeText(at('images/notes.png'), 'text');
    expect(await locator(false).locate('notes.png')).toEqual({ path: at('images/notes.png') });
  });

  it('turns each unusable image into a skipped item with its reason at import', async () => {
    const line = (id: number, image: string) => ({
      question_id: id,
      image,
      text: 'Is there a dog?',
      label: 'no',
    });
    await writePng(at('val2014/ok.jpg'));
    await writeText(at('val2014/x.webp'), 'RIFF\x24\x00\x00\x00WEBPVP8 ');
    await symlink('/etc/passwd', at('val2014/passwd.jpg'));
    await writeBytes(at('val2014/huge.png'), pngHeaderOnly(50_000, 50_000));
    await writeLines(at('coco_pope_random.json'), [
      line(1, 'ok.jpg'),
      line(2, 'x.webp'),
      line(3, 'passwd.jpg'),
      line(4, 'huge.png'),
      line(5, 'ok.jpg'),
    ]);
    const ds = await openDataset(dir());
    expect(ds.items.map((i) => i.id)).toEqual(['random-1', 'random-5']);
    expect(ds.skipped.map((s) => [s.line, s.reason])).toEqual([
      [2, expect.stringMatching(/^image file "x\.webp": invalid WebP: /)],
      [3, expect.stringMatching(/^image file "passwd\.jpg" resolves outside /)],
      [4, expect.stringMatching(/^image file "huge\.png": 50000x50000 = 2500000000 pixels exceeds/)],
    ]);
  });
});
