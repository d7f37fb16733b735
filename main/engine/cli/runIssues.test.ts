import { readFile } from 'node:fs/promises';

import { describe, expect, it } from 'vitest';

import type { DatasetItem, SkippedItem } from '../datasets/index.ts';
import { useTempDir } from '../datasets/testing.ts';
import { Workspace } from '../store/workspace.ts';
import { reportSkipped, runIssues, skippedFileName, summarizeFailures } from './runIssues.ts';

const { dir, at } = useTempDir();

const skipped = (n: number): SkippedItem[] =>
  Array.from({ length: n }, (_, i) => ({
    file: '/data/pope/coco_pope_random.json',
    line: i + 2,
    reason: `reason ${i}`,
  }));

const item = (id: string, imagePath: string): DatasetItem => ({
  id,
  imagePath,
  question: 'q?',
  answers: ['yes'],
  metric: 'exact',
  family: 'f',
  subtype: null,
  boxes: [],
});

describe('reportSkipped', () => {
  it('writes every skipped entry with its reason to a file and prints the path and the first five', async () => {
    const now = new Date('2024-01-31T14:25:01.123Z');
    const lines = await reportSkipped(skipped(8), dir(), 'coco pope/random', now);
    const file = at('skipped-coco-pope-random-20240131-142501.txt');
    expect(lines).toEqual([
      `8 dataset entries skipped, all listed with their reasons in ${file}:`,
      ...[0, 1, 2, 3, 4].map((i) => `  coco_pope_random.json line ${i + 2}: reason ${i}`),
      '  … and 3 more',
    ]);
    const written = (await readFile(file, 'utf8')).split('\n');
    expect(written).toHaveLength(9);
    expect(written[7]).toBe('coco_pope_random.json line 9: reason 7');
  });

  it('still prints the first entries when the list cannot be written', async () => {
    const lines = await reportSkipped(skipped(1), at('no-such-folder'), 'x', new Date(0));
    expect(lines).toEqual([
      `1 dataset entry skipped (the full list could not be written to ${at('no-such-folder', 'skipped-x-19700101-000000.txt')}: ENOENT):`,
      '  coco_pope_random.json line 2: reason 0',
    ]);
  });

  it('says nothing and writes nothing when nothing was skipped', async () => {
    expect(await reportSkipped([], dir(), 'x')).toEqual([]);
  });

  it('keeps the file name safe whatever the dataset is called', () => {
    expect(skippedFileName('../../etc/\u001b[2J', new Date(0))).toBe(
      'skipped-..-..-etc-2J-19700101-000000.txt',
    );
  });
});

describe('summarizeFailures', () => {
  it('counts failed samples per reason, the image named generically, with the first items', () => {
    const items = ['a', 'b', 'c', 'd', 'e'].map((id) => item(id, `/data/img/${id}.jpg`));
    const failed = [
      { itemId: 'a', error: 'a.jpg: invalid JPEG: bad Huffman code' },
      { itemId: 'b', error: 'out of memory' },
      { itemId: 'c', error: 'c.jpg: invalid JPEG: bad Huffman code' },
      { itemId: 'd', error: `d.jpg: image file not found (/data/img/d.jpg)` },
      { itemId: 'e', error: 'e.jpg: invalid JPEG: bad Huffman code' },
      { itemId: 'z', error: 'line one\n\u001b[2Jline two' },
    ];
    expect(summarizeFailures(failed, items)).toEqual([
      '6 samples failed:',
      '  3 × <image>: invalid JPEG: bad Huffman code (items "a", "c", "e")',
      '  1 × out of memory (item "b")',
      '  1 × <image>: image file not found (<image>) (item "d")',
      '  1 × line one\\n\\u001b[2Jline two (item "z")',
    ]);
  });

  it('says nothing when no sample failed', () => {
    expect(summarizeFailures([], [])).toEqual([]);
  });
});

describe('runIssues', () => {
  it('reads the failed samples of the run from the workspace', async () => {
    const workspace = Workspace.open(at('ws'));
    try {
      const run = workspace.createRun({
        kind: 'eval',
        model: { folder: '/m', fingerprint: 'f', info: {} },
        dataset: { path: '/d', format: 'pope', name: 'tiny', itemIds: ['a', 'b'] },
        config: {},
      });
      workspace.recordSample(run.id, { itemId: 'a', status: 'ok', result: {} });
      workspace.recordSample(run.id, {
        itemId: 'b',
        status: 'error',
        error: 'b.png: invalid PNG: bad chunk',
      });
      const items = [item('a', '/d/a.png'), item('b', '/d/b.png')];
      expect(await runIssues(workspace, { runId: run.id, skipped: skipped(1), items })).toEqual([
        expect.stringMatching(
          /^1 dataset entry skipped, all listed with their reasons in .*skipped-tiny-.*\.txt:$/,
        ),
        '  coco_pope_random.json line 2: reason 0',
        '1 sample failed:',
        '  1 × <image>: invalid PNG: bad chunk (item "b")',
      ]);
    } finally {
      workspace.close();
    }
  });
});
