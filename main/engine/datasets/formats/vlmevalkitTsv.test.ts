import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { circularAccuracy } from '../../experiments/metrics/multipleChoice.ts';
import { scoreAnswer } from '../../experiments/scoring.ts';
import { loadImage } from '../../image/load.ts';
import { openDataset } from '../openDataset.ts';
import { useTempDir, writeText } from '../testing.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/vlmevalkit/', import.meta.url));
const { at } = useTempDir();
const open = (file: string) => openDataset(join(FIXTURES, file), { imageCache: at('cache') });

/** A TSV with the fixture's header and these rows (tab-joined), for malformed variants. */
const HEADER = 'index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\tl2-category\timage';
const IMAGES = JSON.parse(
  await readFile(fileURLToPath(new URL('../fixtures/images.json', import.meta.url)), 'utf8'),
) as { png: string; webp: string };

describe('vlmevalkit-tsv', () => {
  it('reads MMBench as VLMEvalKit ships it: questions, rotated copies, images by reference', async () => {
    const ds = await open('MMBench_DEV_EN_tiny.tsv');
    expect(ds).toMatchObject({ format: 'vlmevalkit-tsv', name: 'MMBench_DEV_EN_tiny', skipped: [] });
    // Each question's rotations side by side (rotation 0 first), as VLMEvalKit groups them by g_index.
    expect(ds.items.map((i) => [i.id, i.circular?.group, i.circular?.rotation, i.answers[0]])).toEqual([
      ['0', '0', 0, 'A'],
      ['1000000', '0', 1, 'D'],
      ['2000000', '0', 2, 'C'],
      ['3000000', '0', 3, 'B'],
      ['1', '1', 0, 'B'],
      ['1000001', '1', 1, 'A'],
      ['2', '2', 0, 'C'],
      ['1000002', '2', 1, 'B'],
      ['2000002', '2', 2, 'A'],
    ]);
    const [first, second] = ds.items;
    expect(first).toMatchObject({
      question:
        'Question: What colour is the square?\nOptions:\nA. red\nB. green\nC. blue\nD. black\n' +
        'Please select the correct answer from the options above. \n',
      metric: 'choice',
      family: 'attribute_recognition',
      subtype: 'finegrained_perception (instance-level)',
      circular: { group: '0', rotation: 0, rotations: 4 },
      meta: { index: '0', question: 'What colour is the square?', category: 'attribute_recognition' },
    });
    expect(second.choices).toEqual([
      { label: 'A', text: 'green' },
      { label: 'B', text: 'blue' },
      { label: 'C', text: 'black' },
      { label: 'D', text: 'red' },
    ]);
    // The rotated copies name their image by the question's index: the same file, written once.
    expect(second.imagePath).toBe(first.imagePath);
    expect(first.imagePath.startsWith(at('cache'))).toBe(true);
    const hinted = ds.items[4];
    expect(hinted.question).toBe(
      'Hint: Look at the whole picture.\nQuestion: Is the picture bright?\nOptions:\nA. yes\nB. no\n' +
        'Please select the correct answer from the options above. \n',
    );
    const webp = await loadImage(hinted.imagePath);
    expect(webp.decoded).toMatchObject({ format: 'webp' });
    // The fixture's WebP is near-black (10, 10, 10) with a lighter diagonal: a dark image on average.
    expect(webp.data.reduce((a, v) => a + v, 0) / webp.data.length).toBeLessThan(40);
  });

  it('rotates a circular file that has no rotated rows exactly as vlmutil circular did', async () => {
    const shipped = await open('MMBench_DEV_EN_tiny.tsv');
    const rotatedHere = await open('MMBench_plain_tiny.tsv');
    const view = (items: typeof shipped.items) =>
      items.map((i) => [i.id, i.question, i.choices, i.answers, i.circular, i.imagePath]);
    expect(view(rotatedHere.items)).toEqual(view(shipped.items));
  });

  it('scores VLMEvalKit-style: per rotation by the option read, per question only if all are right', async () => {
    const ds = await open('MMBench_DEV_EN_tiny.tsv');
    // A model that always picks the option "red", "no" and "a circle" wherever it is listed: right on
    // every rotation of questions 0 and 1, wrong on every rotation of question 2 (gold "a star").
    const pick: Record<string, string> = { '0': 'red', '1': 'no', '2': 'a circle' };
    const rows = ds.items.map((item) => {
      const wanted = pick[item.circular!.group];
      const label = item.choices!.find((c) => c.text === wanted)!.label;
      return { circular: item.circular!, family: item.family, score: scoreAnswer(item, label) };
    });
    expect(rows.map((r) => r.score)).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 0]);
    const summary = circularAccuracy(rows);
    expect(summary).toEqual({
      overall: 2 / 3,
      byFamily: { attribute_recognition: { mean: 0.5, n: 2 }, image_quality: { mean: 1, n: 1 } },
      groups: 3,
      incomplete: 0,
    });
  });

  it('reads a non-circular TSV as written, following an image reference to another row', async () => {
    const ds = await open('AI2D_TEST_tiny.tsv');
    expect(ds.items.map((i) => [i.id, i.circular])).toEqual([
      ['0', undefined],
      ['1', undefined],
      ['2', undefined],
    ]);
    expect(ds.items[2].imagePath).toBe(ds.items[1].imagePath);
  });

  it('skips bad rows naming the line and column, and refuses a file without the needed columns', async () => {
    const row = (...cells: string[]) => cells.join('\t');
    await writeText(
      at('data', 'SEED_tiny.tsv'),
      [
        HEADER,
        row('0', 'ok?', '', 'yes', 'no', '', '', 'A', 'c', 'l2', IMAGES.png),
        row('1', 'bad base64', '', 'yes', 'no', '', '', 'A', 'c', 'l2', `${IMAGES.png.slice(0, 72)}!!!!`),
        row(
          '2',
          'not an image',
          '',
          'yes',
          'no',
          '',
          '',
          'A',
          'c',
          'l2',
          Buffer.from('x'.repeat(80)).toString('base64'),
        ),
        row('3', 'dangling', '', 'yes', 'no', '', '', 'A', 'c', 'l2', '77'),
        row('4', 'gold E', '', 'yes', 'no', '', '', 'E', 'c', 'l2', IMAGES.png),
        row('5', 'two images', '', 'yes', 'no', '', '', 'A', 'c', 'l2', `['${IMAGES.png}', '${IMAGES.png}']`),
        row('6', 'one option', '', 'yes', '', '', '', 'A', 'c', 'l2', IMAGES.png),
        row('7', 'too many', '', 'yes', 'no', '', '', 'A', 'c', 'l2', IMAGES.png, 'extra'),
      ].join('\n'),
    );
    const ds = await openDataset(at('data', 'SEED_tiny.tsv'), { imageCache: at('cache') });
    expect(ds.items.map((i) => i.id)).toEqual(['0']);
    expect(ds.skipped.map((s) => [s.line, s.reason])).toEqual([
      [3, 'column "image": not base64 (unexpected character at offset 72)'],
      [
        4,
        'column "image": not an image (text, not an image; PNG, JPEG, BMP, WebP, GIF, TIFF and AVIF are read)',
      ],
      [5, '"image" refers to index "77", which is not in the file'],
      [6, 'gold answer "E" is not one of the options (A, B)'],
      [7, 'several images in one row (a list); FusionScope asks about one image per question'],
      [8, '1 option(s); a multiple-choice question needs at least 2'],
      [9, '12 fields, the header has 11'],
    ]);
    await writeText(at('data', 'broken.tsv'), 'index\tquestion\tanswer\n0\tq?\tA\n');
    await expect(openDataset(at('data', 'broken.tsv'), { imageCache: at('cache') })).rejects.toMatchObject({
      code: 'BAD_DATASET',
      message: `${at('data', 'broken.tsv')}:1: no "image" column; a VLMEvalKit TSV has index, question, and image (base64) or image_path`,
    });
  });
});
