/** Calls the fuzzer (main/fuzz, target "api") found validateCall answering badly. */
import { describe, expect, it } from 'vitest';

import { FusionError } from '../errors.ts';
import { validateCall } from './protocol.ts';

function refusal(method: unknown, params: unknown): FusionError {
  try {
    validateCall(method, params);
  } catch (error) {
    expect(error).toBeInstanceOf(FusionError);
    return error as FusionError;
  }
  throw new Error('expected a FusionError, nothing was thrown');
}

describe('validateCall inputs found by fuzzing', () => {
  it('keeps the refusal short when params hold thousands of unknown keys', () => {
    // zod's "Unrecognized keys" issue lists every key: 20,000 of them made a 180 kB error message.
    const params = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]));
    const error = refusal('appInfo', params);
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(
      /^appInfo: invalid parameters — \(params\): Unrecognized keys: "k0", "k1", /,
    );
    expect(error.message).toMatch(/… \(\d+ characters\)$/);
    expect(error.message.length).toBeLessThan(400);
  });
});
