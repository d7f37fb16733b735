/**
 * What importer errors may say about a file: where it is wrong and what was expected, never its bytes
 * when it does not parse as the format (it may be any file: a password file opened as POPE), and no
 * raw control character from a file or a file name.
 */
import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { describeSkipped, openDataset } from './openDataset.ts';
import { useTempDir, writeJson, writeLines, writePng, writeText } from './testing.ts';

const { dir, at } = useTempDir();

const SECRET = 's3cr3tSalt';
const SHADOW = Array.from(
  { length: 12 },
  (_, i) => `user${i}:$6$${SECRET}$Xk2hashhashhash:19000:0:99999:7:::`,
).join('\n');

/** The error's message, which must quote nothing of the file. */
async function failure(promise: Promise<unknown>): Promise<string> {
  const error = (await promise.then(
    () => null,
    (e: unknown) => e,
  )) as Error | null;
  expect(error).not.toBeNull();
  return error!.message;
}

// eslint-disable-next-line no-control-regex -- a raw control character is what must not appear
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

describe('errors about files that are not datasets quote none of their bytes', () => {
  it('a shadow-like file opened as POPE lists its lines by number and column only', async () => {
    await writeText(at('shadow'), SHADOW);
    const message = await failure(openDataset(at('shadow'), { format: 'pope' }));
    expect(message).toMatch(
      /no usable items \(pope, 12 skipped\)\n {2}shadow line 1: not valid JSON \(at line 1, column 1\)/,
    );
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain('user0');
    expect(message).not.toContain('Unexpected token');
  });

  it('a JSON document that does not parse is located by line and column', async () => {
    await writeText(at('TextVQA_0.5.1_val.json'), `{"data": [\n${SHADOW}`);
    const message = await failure(openDataset(dir()));
    expect(message).toBe(`${at('TextVQA_0.5.1_val.json')}: not valid JSON (at line 2, column 1)`);
  });

  it('a CSV whose header lacks the columns is refused without quoting the header', async () => {
    await writeText(at('questions.csv'), `${SHADOW}\n`);
    const message = await failure(openDataset(dir()));
    expect(message).toContain('questions.csv:1: the header must name the "image" and "question" columns');
    expect(message).not.toContain(SECRET);
  });

  it('a JSON object that is not GQA is refused without quoting its keys', async () => {
    await writeJson(at('val_balanced_questions.json'), { [SECRET]: [1, 2] });
    const message = await failure(openDataset(dir()));
    expect(message).toMatch(/expected an object from question id to .* but the first entry holds a list$/);
    expect(message).not.toContain(SECRET);
  });

  it.skipIf(process.platform === 'win32')('a FIFO named as the dataset file is refused at once', async () => {
    execFileSync('mkfifo', [at('coco_pope_random.json')]);
    const message = await failure(openDataset(at('coco_pope_random.json')));
    expect(message).toMatch(/coco_pope_random\.json is a FIFO/);
  });
});

describe('values from dataset files are escaped', () => {
  const line = (image: string, label = 'yes') => ({ question_id: 1, image, text: 'A dog?', label });

  it('in skipped-item reasons and the file names that locate them', async () => {
    const name = 'x\u001b[31m_pope_random.json';
    await writePng(at('a.png'));
    await writeLines(at(name), [
      { ...line('a.png'), question_id: 1 },
      { ...line('b\u001b[2J\u202e.png'), question_id: 2 },
      { ...line('a.png', 'ye\u0007s'), question_id: 3 },
    ]);
    const ds = await openDataset(dir());
    const shown = ds.skipped.map(describeSkipped);
    expect(shown).toEqual([
      'x\\u001b[31m_pope_random.json line 2: image file "b\\u001b[2J\\u202e.png" not found (looked in ' +
        `${at('val2014')}, ${at('images')}, ${dir()})`,
      'x\\u001b[31m_pope_random.json line 3: "label" must be "yes" or "no", found "ye\\u0007s"',
    ]);
    for (const text of shown) expect(text).not.toMatch(RAW_CONTROL);
  });

  it('in a manifest value', async () => {
    await writeJson(at('dataset.json'), { format: 'pope\u001b[2J' });
    const message = await failure(openDataset(dir()));
    expect(message).toContain('unknown dataset format "pope\\u001b[2J"');
    expect(message).not.toMatch(RAW_CONTROL);
  });
});
