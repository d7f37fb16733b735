import { describe, expect, it } from 'vitest';

import { baseName, formatBytes, formatCount, formatDuration } from './format.ts';

describe('format', () => {
  it('durations', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(125)).toBe('2m 05s');
    expect(formatDuration(3 * 3600 + 7 * 60)).toBe('3h 07m');
  });
  it('bytes and counts', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(7.06e9)).toBe('6.6 GiB');
    expect(formatCount(9999)).toBe('9,999');
    expect(formatCount(7_063_427_072)).toBe('7.06 B');
  });
  it('base names', () => {
    expect(baseName('/models/llava-1.5-7b-hf/')).toBe('llava-1.5-7b-hf');
    expect(baseName('C:\\data\\pope.jsonl')).toBe('pope.jsonl');
  });
});
