import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parquetMetadata } from 'hyparquet';
import { describe, expect, it } from 'vitest';

import { loadImage } from '../../image/load.ts';
import { columns, fixtureImages, vqav2Columns, writeParquet } from '../fixtures/parquet.ts';
import { openDataset } from '../openDataset.ts';
import { useTempDir } from '../testing.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/parquet/', import.meta.url));
const { at } = useTempDir();
const open = (path: string) => openDataset(path, { imageCache: at('cache') });

describe('hf-parquet', () => {
  it('reads an lmms-eval MMBench export: options, letter answers, image structs', async () => {
    const ds = await open(join(FIXTURES, 'mmbench', 'dev-00000-of-00001.parquet'));
    expect(ds).toMatchObject({ format: 'hf-parquet', name: 'dev', skipped: [] });
    expect(ds.items.map((i) => [i.id, i.answers, i.metric, i.family, i.subtype])).toEqual([
      ['0', ['A'], 'choice', 'attribute_recognition', 'finegrained_perception (instance-level)'],
      ['1', ['B'], 'choice', 'image_quality', 'coarse_perception'],
    ]);
    // "nan" cells are missing, as pandas and lmms-eval read them: no hint, no options C and D.
    expect(ds.items[0].question).toBe(
      "What colour is the square?\nA. red\nB. green\nC. blue\nD. black\nAnswer with the option's letter from the given choices directly.",
    );
    expect(ds.items[1].question).toBe(
      "Look at the whole picture.\nIs the picture bright?\nA. yes\nB. no\nAnswer with the option's letter from the given choices directly.",
    );
    expect(ds.items[1].choices).toEqual([
      { label: 'A', text: 'yes' },
      { label: 'B', text: 'no' },
    ]);
    const image = await loadImage(ds.items[1].imagePath);
    expect(image.decoded.format).toBe('webp');
    expect(Buffer.compare(await readFile(ds.items[0].imagePath), fixtureImages().png)).toBe(0);
  });

  it('reads an lmms-eval VQAv2 export: ten annotator answers, the consensus first, VQA accuracy', async () => {
    const ds = await open(join(FIXTURES, 'vqav2'));
    expect(ds.name).toBe('validation');
    expect(ds.items[1]).toMatchObject({
      id: '262148001',
      question: 'What is he on top of?',
      answers: ['picnic table', 'table', 'skateboard'],
      metric: 'vqa',
      family: 'other',
    });
    expect(ds.items[1].annotatorAnswers).toHaveLength(10);
  });

  it('opens every shard of the split it is given, and names answers by index or text', async () => {
    const { png } = fixtureImages();
    const shard = (questions: string[], answers: bigint[]) => [
      columns.text('question', questions),
      columns.textList(
        'options',
        questions.map(() => ['cat', 'dog', 'bird']),
      ),
      columns.int64('answer', answers),
      columns.image(questions.map(() => ({ bytes: png, path: null }))),
    ];
    writeParquet(at('sqa', 'test-00000-of-00002.parquet'), shard(['q1?', 'q2?'], [0n, 2n]));
    writeParquet(at('sqa', 'test-00001-of-00002.parquet'), shard(['q3?'], [1n]));
    writeParquet(at('sqa', 'validation-00000-of-00001.parquet'), shard(['other split?'], [1n]));
    const ds = await open(at('sqa', 'test-00001-of-00002.parquet'));
    expect(ds.items.map((i) => [i.id, i.answers[0]])).toEqual([
      ['test-00000-of-00002#0', 'A'],
      ['test-00000-of-00002#1', 'C'],
      ['test-00001-of-00002#2', 'B'],
    ]);
    await expect(open(at('sqa'))).rejects.toMatchObject({
      code: 'BAD_DATASET',
      message: `${at('sqa')}: Parquet files of several splits ("test", "validation"); open one split's file`,
    });
  });

  it('skips bad rows naming row and column', async () => {
    const { png } = fixtureImages();
    writeParquet(at('bad', 'test.parquet'), [
      columns.int64('question_id', [1n, 2n, 3n, 4n, 5n]),
      columns.text('question', ['fine?', null, 'no bytes?', 'not an image?', 'options?']),
      columns.textList('choices', [
        ['a', 'b'],
        ['a', 'b'],
        ['a', 'b'],
        ['a', 'b'],
        ['a', 'b'],
      ]),
      columns.text('answer', ['a', 'a', 'a', 'a', 'z']),
      columns.image([
        { bytes: png, path: null },
        { bytes: png, path: null },
        { bytes: null, path: 'COCO_val2014_000000000042.jpg' },
        { bytes: new TextEncoder().encode('%PDF-1.4 not a picture'), path: null },
        { bytes: png, path: null },
      ]),
    ]);
    const ds = await open(at('bad', 'test.parquet'));
    expect(ds.items.map((i) => [i.id, i.answers])).toEqual([['1', ['A']]]);
    expect(ds.skipped.map((s) => [s.index, s.id, s.reason])).toEqual([
      [1, '2', 'column "question" is empty'],
      [2, '3', 'column "image" has no image bytes (only a path, "COCO_val2014_000000000042.jpg")'],
      [
        3,
        '4',
        'column "image": not an image (a PDF document; PNG, JPEG, BMP, WebP, GIF, TIFF and AVIF are read)',
      ],
      [4, '5', 'column "answer" "z" is none of the options (A, B)'],
    ]);
  });

  it('refuses a file without a question or image column, of the wrong type, or cut short', async () => {
    const { png } = fixtureImages();
    writeParquet(at('x', 'noimage.parquet'), [
      columns.text('question', ['q?']),
      columns.text('answer', ['a']),
    ]);
    await expect(open(at('x', 'noimage.parquet'))).rejects.toMatchObject({
      code: 'BAD_DATASET',
      message: `${at('x', 'noimage.parquet')}: no "image" column (it has 2: "question", "answer")`,
    });
    writeParquet(at('x', 'intimage.parquet'), [
      columns.text('question', ['q?']),
      columns.int64('image', [1n]),
    ]);
    await expect(open(at('x', 'intimage.parquet'))).rejects.toMatchObject({
      code: 'BAD_DATASET',
      message: `${at('x', 'intimage.parquet')}: column "image" is INT64, not an image (binary or a struct {bytes, path})`,
    });
    writeParquet(at('x', 'intquestion.parquet'), [
      columns.int64('question', [7n]),
      columns.image([{ bytes: png, path: null }]),
    ]);
    await expect(open(at('x', 'intquestion.parquet'))).rejects.toMatchObject({
      message: `${at('x', 'intquestion.parquet')}: column "question" is INT64, not text`,
    });
    const whole = await readFile(join(FIXTURES, 'mmbench', 'dev-00000-of-00001.parquet'));
    await writeFile(at('x', 'cut.parquet'), whole.subarray(0, whole.length - 100));
    await expect(open(at('x', 'cut.parquet'))).rejects.toMatchObject({
      code: 'BAD_DATASET',
      message: expect.stringMatching(/cut\.parquet: not a readable Parquet file, or cut short \(/),
    });
    await writeFile(at('x', 'text.parquet'), 'question,image\nq,x\n');
    await expect(open(at('x', 'text.parquet'))).rejects.toMatchObject({ code: 'BAD_DATASET' });
  });

  it('reads a file row group by row group, every group', async () => {
    const bytes = writeParquet(at('groups', 'train.parquet'), vqav2Columns(), 1);
    expect(parquetMetadata(bytes.buffer as ArrayBuffer).row_groups).toHaveLength(2);
    const ds = await open(at('groups', 'train.parquet'));
    expect(ds.items.map((i) => i.id)).toEqual(['262148000', '262148001']);
  });
});
