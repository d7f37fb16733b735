import { describe, expect, it } from 'vitest';

import { openDataset } from '../openDataset.ts';
import { useTempDir, writePng, writeText } from '../testing.ts';

const { dir, at } = useTempDir();

describe('image-folder', () => {
  it('asks one question of every decodable image and lists other image types', async () => {
    await writePng(at('b.jpg'));
    await writePng(at('a.png'));
    await writeText(at('c.heic'), 'ftyp');
    await writeText(at('notes.txt'), 'not an image');
    const ds = await openDataset(dir(), { question: 'Describe the image.' });
    expect(ds).toMatchObject({ format: 'image-folder' });
    expect(ds.items).toEqual([
      {
        id: 'a.png',
        imagePath: at('a.png'),
        question: 'Describe the image.',
        answers: [],
        metric: 'none',
        family: 'image',
        subtype: null,
        boxes: [],
      },
      expect.objectContaining({ id: 'b.jpg', imagePath: at('b.jpg') }),
    ]);
    expect(ds.skipped).toEqual([
      {
        file: at('c.heic'),
        id: 'c.heic',
        reason: 'unsupported image type ".heic" (PNG, JPEG, BMP, WebP, GIF, TIFF and AVIF are decoded)',
      },
    ]);
  });

  it('reads questions.csv: answers optional, several questions per image, bad rows listed', async () => {
    await writePng(at('a.png'));
    await writePng(at('pics/b.jpg'));
    await writeText(
      at('questions.csv'),
      [
        'image,question,answers',
        'a.png,"What color is it, roughly?",red|crimson',
        'a.png,How many?,',
        'pics/b.jpg,Where is this?',
        '../a.png,Escape?,x',
        'missing.png,Lost?,x',
        'c.jxl,JPEG XL?,x',
        ',No image?,x',
        'a.png,Too,many,fields',
      ].join('\n'),
    );
    const ds = await openDataset(dir());
    expect(ds.items.map((i) => [i.id, i.question, i.answers, i.metric])).toEqual([
      ['a.png#1', 'What color is it, roughly?', ['red', 'crimson'], 'exact'],
      ['a.png#2', 'How many?', [], 'none'],
      ['pics/b.jpg#1', 'Where is this?', [], 'none'],
    ]);
    expect(ds.skipped.map((s) => [s.line, s.reason.replace(/ \(looked in.*/, '')])).toEqual([
      [5, '"image" "../a.png" leaves the dataset folder'],
      [6, 'image file "missing.png" not found'],
      [7, 'unsupported image type ".jxl" (PNG, JPEG, BMP, WebP, GIF, TIFF and AVIF are decoded)'],
      [8, 'no image name'],
      [9, '4 fields, the header has 3'],
    ]);
  });

  it('uses an id column when there is one', async () => {
    await writePng(at('a.png'));
    await writeText(at('questions.csv'), 'id,image,question\nq1,a.png,Why?\n');
    expect((await openDataset(at('questions.csv'))).items.map((i) => i.id)).toEqual(['q1']);
  });

  it('refuses a bad questions.csv, a missing question, and a question plus a CSV', async () => {
    await writePng(at('a.png'));
    await expect(openDataset(dir())).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: expect.stringContaining('an image folder needs questions.csv'),
    });
    await writeText(at('questions.csv'), 'file,prompt\na.png,Why?\n');
    await expect(openDataset(dir())).rejects.toThrow(
      `${at('questions.csv')}:1: the header must name the "image" and "question" columns; no "image" or "question" among its 2`,
    );
    await writeText(at('questions.csv'), 'image,question\na.png,"Why?\n');
    await expect(openDataset(dir())).rejects.toThrow(
      `${at('questions.csv')}: quoted field opened on line 2 never closes`,
    );
    await expect(openDataset(dir(), { question: 'Why?' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});
