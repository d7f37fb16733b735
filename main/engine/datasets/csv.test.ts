import { describe, expect, it } from 'vitest';

import { parseCsv } from './csv.ts';
import { rankAnswers } from './fields.ts';

describe('parseCsv', () => {
  it('handles quotes, doubled quotes, embedded newlines, CRLF and blank lines, keeping start lines', () => {
    const text =
      '\uFEFFimage,question\r\na.png,"is it red, or blue?"\r\n\r\nb.png,"say ""hi""\nplease"\nc.png,x';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ['image', 'question'] },
      { line: 2, fields: ['a.png', 'is it red, or blue?'] },
      { line: 4, fields: ['b.png', 'say "hi"\nplease'] },
      { line: 6, fields: ['c.png', 'x'] },
    ]);
  });

  it('reads tab-separated values the way pandas writes them (quotes only where needed)', () => {
    const text = 'index\tquestion\timage\n1\t"a ""b""\tc"\tiVBOR==\n2\tsay "hi"\t1\n';
    expect(parseCsv(text, '\t')).toEqual([
      { line: 1, fields: ['index', 'question', 'image'] },
      { line: 2, fields: ['1', 'a "b"\tc', 'iVBOR=='] },
      { line: 3, fields: ['2', 'say "hi"', '1'] },
    ]);
    // Commas are plain text in a TSV.
    expect(parseCsv('a,b\tc\n', '\t')).toEqual([{ line: 1, fields: ['a,b', 'c'] }]);
  });

  it('refuses an unterminated quote', () => {
    expect(() => parseCsv('image,question\na.png,"open\nb.png,x\n')).toThrow(
      'quoted field opened on line 2 never closes',
    );
  });
});

describe('rankAnswers', () => {
  it('orders by frequency, keeps file order on ties, drops blanks, puts the preferred answer first', () => {
    expect(rankAnswers(['2', 'two', 'two', '', '3', '2', 'two'])).toEqual(['two', '2', '3']);
    expect(rankAnswers(['2', 'two', 'two'], '2')).toEqual(['2', 'two']);
    expect(rankAnswers(['a'], 'b')).toEqual(['b', 'a']);
  });
});
