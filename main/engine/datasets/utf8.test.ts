import { describe, expect, it } from 'vitest';

import { jsonLines } from './jsonFiles.ts';
import { openDataset } from './openDataset.ts';
import { useTempDir, writeBytes, writeJson, writePng } from './testing.ts';
import { decodeUtf8, invalidUtf8Lines } from './utf8.ts';

const { dir, at } = useTempDir();

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

describe('decodeUtf8', () => {
  it('decodes valid text (a BOM dropped) and locates the first invalid byte by line and byte column', () => {
    expect(decodeUtf8(bytes([0xef, 0xbb, 0xbf], 'héllo'))).toEqual({ text: 'héllo' });
    expect(decodeUtf8(bytes('ok\nab', [0xe9], 'c\n'))).toEqual({ invalid: { line: 2, column: 3 } });
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['an overlong slash', [0xc0, 0xaf]],
    ['a cut three-byte sequence', [0xe2, 0x82]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('refuses %s', (_, sequence) => {
    expect(decodeUtf8(bytes('x', sequence, 'y'))).toEqual({ invalid: { line: 1, column: 2 } });
  });

  it('lists every line with invalid bytes', () => {
    expect([...invalidUtf8Lines(bytes('a\n', [0xff], '\nok €\n\tz', [0xc3]))]).toEqual([
      [2, 1],
      [4, 3],
    ]);
  });
});

describe('dataset files that are not UTF-8', () => {
  const pope = (id: number, text: string | number[]) =>
    bytes(`{"question_id": ${id}, "image": "a.png", "text": "`, text, '", "label": "yes"}\r\n');

  it('skips a JSON Lines record with invalid bytes, naming its line, instead of decoding U+FFFD', async () => {
    await writePng(at('a.png'));
    await writeBytes(
      at('coco_pope_random.json'),
      Buffer.concat([pope(1, 'Is there a cat?'), pope(2, [0x49, 0x73, 0xff]), pope(3, 'Is there a café?')]),
    );
    const ds = await openDataset(dir());
    expect(ds.items.map((i) => [i.id, i.question])).toEqual([
      ['random-1', 'Is there a cat?'],
      ['random-3', 'Is there a café?'],
    ]);
    expect(ds.skipped).toEqual([
      {
        file: at('coco_pope_random.json'),
        line: 2,
        reason: 'invalid UTF-8 at byte 49 of the line (dataset files must be UTF-8 text)',
      },
    ]);
  });

  it('splits JSON Lines across read chunks, past blank lines, without a final newline', async () => {
    const long = 'x'.repeat(70_000);
    await writeBytes(at('f.jsonl'), bytes(`{"a": "${long}"}\n\n{"b": 2}`));
    const lines = [];
    for await (const line of jsonLines(at('f.jsonl'))) lines.push(line);
    expect(lines).toEqual([
      { line: 1, value: { a: long } },
      { line: 3, value: { b: 2 } },
    ]);
  });

  it('refuses a JSON document with invalid bytes, naming the file and line', async () => {
    await writeBytes(at('TextVQA_0.5.1_val.json'), bytes('{"data": [\n{"question": "caf', [0xe9], '"}]}'));
    await expect(openDataset(dir())).rejects.toMatchObject({
      code: 'BAD_DATASET',
      message: `${at('TextVQA_0.5.1_val.json')}:2: invalid UTF-8 at byte 18 of the line (dataset files must be UTF-8 text)`,
    });
  });

  it('skips a CSV record with invalid bytes (even inside a quoted field), refuses a header with them', async () => {
    await writePng(at('a.png'));
    await writeBytes(
      at('questions.csv'),
      bytes('image,question\na.png,What is this?\na.png,"Two\nlines ', [0xfe], '"\na.png,And this?\n'),
    );
    const ds = await openDataset(dir());
    expect(ds.items.map((i) => i.question)).toEqual(['What is this?', 'And this?']);
    expect(ds.skipped).toEqual([
      {
        file: at('questions.csv'),
        line: 3,
        reason: 'line 4: invalid UTF-8 at byte 7 of the line (dataset files must be UTF-8 text)',
      },
    ]);
    await writeBytes(at('questions.csv'), bytes('image,qu', [0xff], 'stion\na.png,x\n'));
    await expect(openDataset(dir())).rejects.toThrow(
      `${at('questions.csv')}:1: invalid UTF-8 at byte 9 of the line (dataset files must be UTF-8 text)`,
    );
  });

  it('skips a question holding an unpaired surrogate escape (valid JSON, not valid text)', async () => {
    await writePng(at('a.png'));
    await writeBytes(at('coco_pope_random.json'), Buffer.concat([pope(1, 'ok?'), pope(2, 'bad \\ud800?')]));
    const ds = await openDataset(dir());
    expect(ds.items.map((i) => i.id)).toEqual(['random-1']);
    expect(ds.skipped[0]).toMatchObject({ line: 2, reason: expect.stringMatching(/unpaired surrogate/) });
  });

  it('still reads a manifest and a document that are valid UTF-8 with a BOM', async () => {
    await writeBytes(at('dataset.json'), bytes([0xef, 0xbb, 0xbf], '{"format": "pope", "file": "p.jsonl"}'));
    await writePng(at('a.png'));
    await writeBytes(at('p.jsonl'), pope(7, 'Is it blue?'));
    await writeJson(at('unused.json'), {});
    expect((await openDataset(dir())).items.map((i) => i.id)).toEqual(['7']);
  });
});
