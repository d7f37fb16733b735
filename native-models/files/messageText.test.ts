/** File-derived text in messages: control characters escaped, long values cut. */
import { describe, expect, it } from 'vitest';

import { printable, quoted, shownPath } from './messageText.ts';

describe('printable', () => {
  it('escapes control characters and bidirectional overrides, keeping other text', () => {
    expect(printable('a\u001b[31mred\r\n\tz\u007f\u0085')).toBe('a\\u001b[31mred\\r\\n\\tz\\u007f\\u0085');
    expect(printable('abc\u202egnp.exe')).toBe('abc\\u202egnp.exe');
    expect(printable('vision_model.encoder.layers.0 “ß” 图')).toBe('vision_model.encoder.layers.0 “ß” 图');
  });

  it('cuts long values, saying how long they were', () => {
    expect(printable('x'.repeat(500), 10)).toBe('xxxxxxxxxx… (500 characters)');
    expect(shownPath(`/${'d'.repeat(600)}`)).toHaveLength(601);
  });
});

describe('quoted', () => {
  it('quotes strings (escaped) and shows other values as JSON', () => {
    expect(quoted('lm_head\u001b')).toBe('"lm_head\\u001b"');
    expect(quoted('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoted([1, 'a'])).toBe('[1,"a"]');
    expect(quoted(undefined)).toBe('undefined');
    expect(quoted(1.5)).toBe('1.5');
  });

  it('describes a value too deeply nested to print instead of overflowing the stack', () => {
    let deep: unknown = [];
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(quoted(deep)).toBe('an array nested too deeply to show');
  });
});
