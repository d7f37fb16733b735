/**
 * The boundary between `analyze` and the processes it runs models in: the flags a child gets back as
 * arguments (parsed by the same parser to the same values), and the failure read off a child's stderr.
 * The children themselves run in analyzeModels.test.ts, end to end.
 */
import { parseArgs } from 'node:util';

import { describe, expect, it } from 'vitest';

import { isFusionErrorCode } from '../../common/errors.ts';
import { commandOptions } from '../cli.ts';
import { childError, flagArgs } from './analyzeInChildren.ts';
import type { Flags } from './flags.ts';

const parse = (args: string[]) =>
  parseArgs({ args, options: commandOptions(), strict: true, allowPositionals: false }).values as Flags;

describe('flagArgs', () => {
  it("gives a child the parent's flags back, values that look like flags included, less its own", () => {
    const flags = parse([
      ...['--model', 'a,b', '--out', 'o', '--jobs', '2', '--workspace', 'w s'],
      ...['--limit', '5', '--per-head', '--prompt-suffix=-- answer briefly=yes', '--rho', '0.2'],
    ]);
    const args = flagArgs(flags);
    expect(args).not.toEqual(expect.arrayContaining([expect.stringMatching(/^--(model|out|jobs)\b/)]));
    expect(parse(args)).toEqual({
      workspace: 'w s',
      limit: '5',
      'per-head': true,
      'prompt-suffix': '-- answer briefly=yes',
      rho: '0.2',
    });
  });
});

describe('childError', () => {
  it('reads the last error a child printed, with the lines of its message after it', () => {
    const lines = [
      'sweep run 3 [####] 2/2',
      'error [RUNTIME]: an earlier line',
      'error [BAD_WEIGHTS]: model.safetensors: 2 problems',
      '  a.weight: missing',
      '  b.weight: shape [2] where config.json implies [3]',
    ];
    expect(childError(lines)).toEqual({
      code: 'BAD_WEIGHTS',
      message:
        'model.safetensors: 2 problems\n  a.weight: missing\n  b.weight: shape [2] where config.json implies [3]',
    });
    expect(childError(['killed'])).toBeUndefined();
  });

  it('knows our error codes from anything else a line may say', () => {
    expect(isFusionErrorCode('BAD_WEIGHTS')).toBe(true);
    expect(isFusionErrorCode('INSUFFICIENT_RESOURCES')).toBe(true);
    expect(isFusionErrorCode('EACCES')).toBe(false);
    expect(isFusionErrorCode('toString')).toBe(false);
  });
});
