/**
 * Inputs the fuzzer (main/fuzz, target "tokenizer") found crashing tokenizer.json parsing with
 * something other than a FusionError; each is now refused while the tokenizer is built, naming the
 * JSON path.
 */
import { describe, expect, it } from 'vitest';

import { FusionError } from '../../common/errors.ts';
import { llamaTokenizer, qwen2Tokenizer } from './fixtures/tokenizers.ts';
import { describeValue } from './json.ts';
import { Tokenizer } from './index.ts';

/** `depth` arrays nested in one another: deeper than JSON.stringify (and String()) can walk. */
function nested(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function refusal(run: () => unknown): FusionError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(FusionError);
    return error as FusionError;
  }
  throw new Error('expected a FusionError, nothing was thrown');
}

describe('tokenizer.json inputs found by fuzzing', () => {
  it('describes a value nested too deeply to stringify instead of overflowing the stack', () => {
    expect(describeValue(nested(20_000))).toBe('an array nested too deeply to show');
    const json = llamaTokenizer('legacy') as { added_tokens: Array<Record<string, unknown>> };
    json.added_tokens[0].special = nested(20_000);
    const error = refusal(() => Tokenizer.fromJSON(json));
    expect(error.code).toBe('BAD_TOKENIZER');
    expect(error.message).toBe(
      'tokenizer.json: added_tokens[0].special must be true or false (got an array nested too deeply to show)',
    );
  });

  it('refuses a Split regex too large for V8 when building, not at every encode', () => {
    // V8 accepts `new RegExp` of this pattern and throws "Regular expression too large" at its first match.
    const error = refusal(() => Tokenizer.fromJSON(qwen2Tokenizer({ pattern: 'x'.repeat(32_768) })));
    expect(error.code).toBe('BAD_TOKENIZER');
    expect(error.message).toMatch(
      /^tokenizer\.json: pre_tokenizer\.pretokenizers\[0\]\.pattern\.Regex "x{76}\.\.\. does not compile as a JavaScript regex \(Regular expression too large\)$/,
    );
  });

  it('refuses a literal String pattern too large for V8 the same way', () => {
    const json = llamaTokenizer('legacy') as { normalizer: { normalizers: Array<Record<string, unknown>> } };
    const replace = json.normalizer.normalizers.find((n) => n.type === 'Replace')!;
    replace.pattern = { String: 'x'.repeat(40_000) };
    const error = refusal(() => Tokenizer.fromJSON(json));
    expect(error.code).toBe('BAD_TOKENIZER');
    expect(error.message).toMatch(
      /normalizer\.normalizers\[1\]\.pattern\.String "x{76}\.\.\. does not compile as a JavaScript regex \(Regular expression too large\)$/,
    );
  });
});
