import { describe, expect, it } from 'vitest';

import { JsonFiles } from './jsonFiles.ts';
import { describeSkipped, openDataset } from './openDataset.ts';
import { allFormats, FORMAT_NAMES, formatByName } from './registry.ts';
import { useTempDir, writeJson, writeLines, writePng, writeText } from './testing.ts';

const { dir, at } = useTempDir();

const item = (id: string, image = `images/${id}.png`) => ({
  id,
  image,
  question: 'what color is the circle?',
  answers: ['red'],
  family: 'color',
  subtype: null,
  boxes: [[1, 2, 3, 4]],
});

async function fusionscope(...rows: unknown[]) {
  await writeJson(at('dataset.json'), { format: 'fusionscope-vqa', version: 1, name: 'tiny' });
  await writeLines(at('items.jsonl'), rows);
}

describe('openDataset: fusionscope-vqa through the manifest', () => {
  it('reads items, scores them by exact match, and lists unusable lines instead of failing', async () => {
    await writePng(at('images/a.png'));
    await writePng(at('images/b.png'));
    await fusionscope(item('a'), '{oops', item('b'), item('c'), item('d', '../../etc/passwd.png'), item('a'));
    const ds = await openDataset(dir());
    expect(ds).toMatchObject({ name: 'tiny', format: 'fusionscope-vqa', folder: dir() });
    expect(ds.items.map((i) => [i.id, i.metric, i.imagePath])).toEqual([
      ['a', 'exact', at('images/a.png')],
      ['b', 'exact', at('images/b.png')],
    ]);
    expect(ds.items[0].boxes).toEqual([[1, 2, 3, 4]]);
    expect(ds.skipped.map((s) => [s.line, s.reason.replace(/ \(.*/, '')])).toEqual([
      [2, 'not valid JSON'],
      [4, `image file "images/c.png" not found`],
      [5, '"image" "../../etc/passwd.png" leaves the dataset folder'],
      [6, 'duplicate id "a"'],
    ]);
    expect(describeSkipped(ds.skipped[3])).toBe('items.jsonl line 6: duplicate id "a"');
  });

  it('reports a missing items.jsonl as a missing file', async () => {
    await writeJson(at('dataset.json'), { format: 'fusionscope-vqa' });
    await expect(openDataset(dir())).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: `${at('items.jsonl')} is missing`,
    });
  });

  it('opens items.jsonl given directly, and can skip the image checks', async () => {
    await fusionscope(item('a'));
    const ds = await openDataset(at('items.jsonl'), { checkImages: false });
    expect(ds.items.map((i) => i.imagePath)).toEqual([at('images/a.png')]);
  });

  it('lets a manifest pin another format and its files', async () => {
    await writeJson(at('dataset.json'), { format: 'pope', name: 'pinned', file: 'mine.txt', images: 'pics' });
    await writeLines(at('mine.txt'), [
      { question_id: 1, image: 'x.jpg', text: 'Is there a dog?', label: 'no' },
    ]);
    await writePng(at('pics/x.jpg'));
    const ds = await openDataset(dir());
    expect(ds).toMatchObject({ name: 'pinned', format: 'pope' });
    expect(ds.items[0].imagePath).toBe(at('pics/x.jpg'));
  });

  it('refuses a manifest with an unknown format, no format, or a path leaving the folder', async () => {
    await writeJson(at('dataset.json'), { format: 'coco' });
    await expect(openDataset(dir())).rejects.toMatchObject({
      code: 'BAD_DATASET',
      message: expect.stringMatching(
        /dataset\.json: unknown dataset format "coco"; known: fusionscope-vqa, /,
      ),
    });
    await writeJson(at('dataset.json'), { name: 'x' });
    await expect(openDataset(dir())).rejects.toThrow(/"format" must name the dataset format, found nothing/);
    await writeJson(at('dataset.json'), { format: 'pope', images: '../elsewhere' });
    await expect(openDataset(dir())).rejects.toThrow(/"images" "\.\.\/elsewhere" must be a path inside/);
    await writeText(at('dataset.json'), '{"format": ');
    await expect(openDataset(dir())).rejects.toThrow(/dataset\.json: not valid JSON/);
  });
});

describe('openDataset: errors', () => {
  it('reports a missing path and an unknown format option', async () => {
    await expect(openDataset(at('nope'))).rejects.toMatchObject({ code: 'MISSING_FILE' });
    await writePng(at('a.png'));
    await expect(openDataset(dir(), { format: 'coco' as never })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringContaining('unknown dataset format "coco"'),
    });
  });

  it('says so when nothing matches, listing the known formats', async () => {
    await writeText(at('notes.txt'), 'hello');
    await expect(openDataset(dir())).rejects.toThrow(
      /cannot tell the dataset format; known formats:\n {2}fusionscope-vqa: /,
    );
  });

  it('refuses to guess between two matching formats', async () => {
    await writeJson(at('TextVQA_0.5.1_val.json'), { data: [] });
    await writeJson(at('val_v1.0.json'), { data: [] });
    await expect(openDataset(dir())).rejects.toThrow(
      /ambiguous dataset, it looks like textvqa \(file name "TextVQA_0\.5\.1_val\.json"\), docvqa \(file name "val_v1\.0\.json"\)/,
    );
  });

  it('names the file when an unrecognised JSON file does not parse', async () => {
    await writeText(at('mystery.json'), '{"questions": [1, 2');
    await expect(openDataset(at('mystery.json'))).rejects.toMatchObject({
      code: 'BAD_DATASET',
      message: expect.stringMatching(/mystery\.json: not valid JSON \(/),
    });
  });

  it('refuses a dataset with no usable item, quoting the reasons', async () => {
    await fusionscope('garbage', item('a'));
    await expect(openDataset(dir())).rejects.toThrow(
      /fusionscope-datasets-\w+: no usable items \(fusionscope-vqa, 2 skipped\)\n {2}items\.jsonl line 1: not valid JSON .*\n {2}items\.jsonl line 2: image file "images\/a\.png" not found/,
    );
  });
});

describe('registry', () => {
  it('files every format under its own name, and only once', () => {
    for (const name of FORMAT_NAMES) expect(formatByName(name, 'BAD_ARGUMENT', 'test').name).toBe(name);
    expect(new Set(allFormats()).size).toBe(FORMAT_NAMES.length);
    expect(FORMAT_NAMES).toContain('image-folder');
  });
});

describe('JsonFiles', () => {
  it('parses a document once however often it is asked for', async () => {
    const path = await writeJson(at('a.json'), { data: [1] });
    const files = new JsonFiles();
    const [first, second] = await Promise.all([files.document(path), files.document(path)]);
    expect(first).toBe(second);
    expect(await files.document(path)).toBe(first);
  });

  it('tells JSON Lines from a document by content, not only by name', async () => {
    const files = new JsonFiles();
    await writeLines(at('lines.json'), [{ a: 1 }, { a: 2 }]);
    await writeJson(at('pretty.json'), { a: 1 });
    await writeText(at('one-line.json'), '{"questions": []}\n');
    await writeLines(at('single.jsonl'), [{ a: 1 }]);
    expect(await files.sniff(at('lines.json'))).toEqual({ kind: 'lines', first: { a: 1 } });
    expect(await files.sniff(at('pretty.json'))).toEqual({ kind: 'document' });
    expect(await files.sniff(at('one-line.json'))).toEqual({ kind: 'document' });
    expect(await files.sniff(at('single.jsonl'))).toEqual({ kind: 'lines', first: { a: 1 } });
  });
});
