/**
 * Invalid JSON is located by line and column, never quoted: the file may be anything a path names.
 */
import { describe, expect, it } from 'vitest';

import { describeJsonError, jsonErrorOffset, parseJsonText } from './jsonText.ts';

describe('jsonErrorOffset', () => {
  it('finds nothing wrong in valid JSON', () => {
    for (const text of [
      '{}',
      ' [ ] ',
      '{"a": [1, -2.5e+3, true, false, null, {"b": "c\\n\\u00e9\\"", "": []}]}',
      '"\\/"',
      '0',
      '\n\t{"k":{}}\r\n',
    ]) {
      expect(() => JSON.parse(text)).not.toThrow();
      expect(jsonErrorOffset(text)).toBeUndefined();
    }
  });

  it('agrees with V8 where V8 gives a position, and finds the one it does not give', () => {
    const cases: Array<[string, number]> = [
      ['{"a":1}x', 7],
      ['{"a" 1}', 5],
      ['{"a":"\u0001"}', 6],
      ['nope', 0],
      ['{"a":tru}', 5],
      ['[1,2,]', 5],
      ['[01]', 2],
      ['{"a":1,}', 7],
      ['{,}', 1],
      ['"\\x"', 2],
      ['{"a": 1', 7],
      ['', 0],
    ];
    for (const [text, offset] of cases) {
      expect(() => JSON.parse(text)).toThrow();
      expect([text, jsonErrorOffset(text)]).toEqual([text, offset]);
      const v8 = /at position (\d+)/.exec(
        (() => {
          try {
            JSON.parse(text);
            return '';
          } catch (error) {
            return (error as Error).message;
          }
        })(),
      );
      if (v8) expect(Number(v8[1])).toBe(offset);
    }
  });

  it('survives nesting deeper than the call stack', () => {
    expect(jsonErrorOffset('['.repeat(1_000_000))).toBe(1_000_000);
  });
});

describe('describeJsonError and parseJsonText', () => {
  it('say where, by line and column, or that the text ends early', () => {
    expect(describeJsonError('{\n  "a": 1,\n  "b" 2\n}')).toBe('at line 3, column 7');
    expect(describeJsonError('{"model_type": ')).toBe('it ends early');
    expect(describeJsonError('  ')).toBe('it is empty');
  });

  it('never put the text in the error', () => {
    const secret = 'hunter2 -----BEGIN PRIVATE KEY-----';
    const error = (() => {
      try {
        parseJsonText(secret, (where) => new Error(`key.pem: not valid JSON (${where})`));
      } catch (e) {
        return e as Error;
      }
      throw new Error('parsed');
    })();
    expect(error.message).toBe('key.pem: not valid JSON (at line 1, column 1)');
    expect(parseJsonText('{"a": [1]}', () => new Error('unreachable'))).toEqual({ a: [1] });
  });
});
