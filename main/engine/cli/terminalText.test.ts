/** Control characters from files and user input never reach the terminal raw. */
import { describe, expect, it, vi } from 'vitest';

import { FusionError } from '../../common/errors.ts';
import { main } from '../cli.ts';
import { progressReporter } from './progress.ts';
import { terminalLine, terminalLines } from './terminalText.ts';

vi.mock('./cacheCommands.ts', () => ({
  cacheCommand: async () => {
    const hostile = new FusionError('STORE', 'cannot read \u001b[8mfile\u0000\nknown: a\r');
    throw Object.assign(hostile, { code: 'STORE\u0007' });
  },
}));

// eslint-disable-next-line no-control-regex -- finding raw control characters is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

async function stderrOf(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const spy = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { code: await main(argv), stderr };
  } finally {
    spy.mockRestore();
  }
}

describe('terminalLine / terminalLines', () => {
  it('escapes NUL, ESC sequences, CR and bidi overrides; terminalLines keeps line breaks', () => {
    const hostile = 'a\u0000b\u001b[2J\u001b]0;title\u0007\rc\u202ed\u009b31m';
    expect(terminalLine(hostile)).toBe('a\\u0000b\\u001b[2J\\u001b]0;title\\u0007\\rc\\u202ed\\u009b31m');
    expect(terminalLine('one\ntwo')).toBe('one\\ntwo');
    expect(terminalLines('one\u001b\ntwo')).toBe('one\\u001b\ntwo');
    expect(terminalLines('x'.repeat(5000))).toHaveLength(5000); // never cut
  });
});

describe('fusionscope error line', () => {
  it('escapes control characters of a command name the user typed', async () => {
    const { code, stderr } = await stderrOf(['sweep\u001b[2J\u0000']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error \[BAD_ARGUMENT\]: unknown command "sweep\\u001b\[2J\\u0000"/);
    expect(stderr.slice(0, -1)).not.toMatch(RAW_CONTROL);
    expect(stderr.endsWith('\n')).toBe(true);
  });

  it('escapes them in flag errors, and in the code and message of any error, keeping its lines', async () => {
    const { stderr } = await stderrOf(['runs', '--bogus\u001b[31m']);
    expect(stderr).toContain('\\u001b[31m');
    expect(stderr.slice(0, -1)).not.toMatch(RAW_CONTROL);

    const thrown = await stderrOf(['cache', 'list']); // the mocked command throws `hostile`
    expect(thrown).toEqual({
      code: 1,
      stderr: 'error [STORE\\u0007]: cannot read \\u001b[8mfile\\u0000\nknown: a\\r\n',
    });
  });
});

describe('progress lines', () => {
  it('escape the label, and only the reporter writes \\r and \\n', () => {
    const written: string[] = [];
    const stream = {
      isTTY: true,
      write: (text: string) => written.push(text),
    } as unknown as NodeJS.WriteStream;
    const report = progressReporter('sweep\u001b[1A\r\u0000', stream);
    report({ runId: 3, done: 1, total: 2, failed: 0, etaSeconds: 1, itemId: 'item\u001b' });
    report({ runId: 3, done: 2, total: 2, failed: 0, etaSeconds: 0, itemId: null });
    expect(written[0]).toMatch(/^\rsweep\\u001b\[1A\\r\\u0000 run 3 /);
    for (const text of written) expect(text.replace(/^\r/, '').replace(/\n$/, '')).not.toMatch(RAW_CONTROL);
  });
});
