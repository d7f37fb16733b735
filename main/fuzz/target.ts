/**
 * What a fuzz target is, and the one property every target checks: the code under test returns, or
 * rejects the input with the project's own error (FusionError / ModelFormatError with a code); any
 * other throw is a crash. Targets add their own oracles on top (valid inputs must parse, a parse
 * result must be self-consistent).
 *
 * Inputs are *recipes* (a fixture's name plus a list of mutations, or the spec of a generated file),
 * never raw bytes, so that fast-check's counterexample reads as a reproducer and shrinks towards the
 * smallest change that still breaks the code.
 */
import type * as fc from 'fast-check';

import { printable } from '../../native-models/files/messageText.ts';

export interface FuzzSession<T> {
  readonly arbitrary: fc.Arbitrary<T>;
  /** Runs the code under test on one input; throws when the property does not hold. */
  check(input: T): void | Promise<void>;
  /** Removes what `open` created (temporary folders). */
  dispose?(): Promise<void>;
}

export interface FuzzTarget<T = unknown> {
  readonly name: string;
  /** What is fuzzed, for reports. */
  readonly summary: string;
  /**
   * Share of a long run's cases. Targets with a larger input space (byte formats with many code
   * paths) get more; a target whose cases cost milliseconds of file I/O gets fewer.
   */
  readonly weight: number;
  /** Builds the fixtures (valid files, temporary folders) the cases mutate; once per run. */
  open(): Promise<FuzzSession<T>>;
}

/** A property violation, as opposed to the rejection a target expects. */
export class PropertyViolation extends Error {
  override readonly name = 'PropertyViolation';
}

/** Error name, code and message on one line, for violation messages. */
export function describeError(error: unknown): string {
  // Escaped as well as cut: the message may carry the hostile input, and it is printed to a terminal.
  if (!(error instanceof Error)) return `a non-Error value (${printable(String(error), 200)})`;
  const code = (error as { code?: unknown }).code;
  return `${error.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${printable(error.message, 500)}`;
}

/**
 * Runs `run`: returns its value, or undefined when it threw an error `expected` accepts. Any other
 * error becomes a PropertyViolation whose cause keeps the original stack.
 */
export async function rejectsOnlyWith<R>(
  run: () => R | Promise<R>,
  expected: (error: unknown) => boolean,
  what: string,
): Promise<R | undefined> {
  try {
    return await run();
  } catch (error) {
    if (expected(error)) return undefined;
    throw new PropertyViolation(`${what} threw ${describeError(error)}`, { cause: error });
  }
}

/** Throws a PropertyViolation unless `condition` holds. */
export function ensure(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new PropertyViolation(message());
}
