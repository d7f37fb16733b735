/**
 * Runs one target's property with fast-check, in the current thread, and reports what happened in a
 * plain, cloneable object (it crosses a worker boundary). Each case is timed: one that finishes but
 * takes longer than `slowMs` fails as slow (fast-check then shrinks it to the smallest slow input);
 * one whose promise has not settled after `hangMs` fails as a hang, and is reported as it is (shrinking
 * it would cost `hangMs` per attempt). A case that spins synchronously cannot be interrupted from its
 * own thread: isolate.ts watches the shared `Progress` from outside for that.
 */
import * as fc from 'fast-check';

import { clip } from '../../native-models/files/messageText.ts';
import { describeError, type FuzzTarget } from './target.ts';

export interface RunOptions {
  readonly cases: number;
  readonly seed: number;
  readonly slowMs: number;
  readonly hangMs: number;
  /** fast-check's replay path (`"42"`, `"42:3:0"`): runs that case only, then shrinks from it. */
  readonly path?: string;
}

export type FailureKind = 'property' | 'slow' | 'hang' | 'crash';

export interface Failure {
  readonly kind: FailureKind;
  /** The error, one line. */
  readonly message: string;
  /** Stack of the error the code under test threw (the cause of a violation), when there is one. */
  readonly stack?: string;
  /** The shrunk input (a recipe), as fast-check prints it, clipped. */
  readonly counterexample?: string;
  /** Replays the counterexample with the same seed. */
  readonly path?: string;
  readonly shrinks?: number;
}

export interface TargetReport {
  readonly target: string;
  readonly seed: number;
  /** Cases run, the failing one included. */
  readonly cases: number;
  readonly ms: number;
  readonly failure?: Failure;
}

/** The longest counterexample or stack line a report shows. */
const MAX_SHOWN = 4000;

/**
 * Where the running case is, in memory another thread can read while this one spins: how many cases
 * have started, when the running one started (ms since the epoch; 0 between cases), and its input as
 * fast-check prints it (UTF-8, length first, clipped). The numbers go through Atomics: a plain read of
 * a float another thread is writing can tear (a half-written start time once read as 57 years ago).
 */
export class Progress {
  readonly buffer: SharedArrayBuffer;
  private readonly counters: BigInt64Array;
  private readonly inputLength: Int32Array;
  private readonly input: Uint8Array;

  constructor(buffer = new SharedArrayBuffer(16 + 4 + MAX_SHOWN * 3)) {
    this.buffer = buffer;
    this.counters = new BigInt64Array(buffer, 0, 2);
    this.inputLength = new Int32Array(buffer, 16, 1);
    this.input = new Uint8Array(buffer, 20);
  }

  begin(input: unknown): void {
    // Written before the case runs, read only once it is stopped or its worker gone: no tearing.
    const { written } = new TextEncoder().encodeInto(clip(fc.stringify(input), MAX_SHOWN), this.input);
    Atomics.store(this.inputLength, 0, written);
    Atomics.add(this.counters, 0, 1n);
    Atomics.store(this.counters, 1, BigInt(Date.now()));
  }

  end(): void {
    Atomics.store(this.counters, 1, 0n);
  }

  get started(): number {
    return Number(Atomics.load(this.counters, 0));
  }

  /** How long the running case has run, or 0 between cases. */
  runningMs(): number {
    const since = Number(Atomics.load(this.counters, 1));
    return since === 0 ? 0 : Date.now() - since;
  }

  /** The input of the case that started last. */
  lastInput(): string {
    return new TextDecoder().decode(this.input.slice(0, Atomics.load(this.inputLength, 0)));
  }
}

class SlowCase extends Error {
  override readonly name = 'SlowCase';
}

class HangCase extends Error {
  override readonly name = 'HangCase';
}

function timed<T>(check: (input: T) => void | Promise<void>, options: RunOptions, progress?: Progress) {
  let hung = false;
  return async (input: T): Promise<void> => {
    // After a hang every shrinking attempt passes at once, so the hanging input is what is reported.
    if (hung) return;
    progress?.begin(input);
    const start = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const hang = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          hung = true;
          reject(new HangCase(`the case had not settled after ${options.hangMs} ms`));
        }, options.hangMs);
      });
      await Promise.race([Promise.resolve().then(() => check(input)), hang]);
    } finally {
      clearTimeout(timer);
      progress?.end();
    }
    const ms = performance.now() - start;
    if (ms > options.slowMs) {
      throw new SlowCase(`the case took ${Math.round(ms)} ms, over the ${options.slowMs} ms budget`);
    }
  };
}

/**
 * A stack without its recursion: frames seen twice already are left out, so a stack overflow shows
 * where the recursion started.
 */
function compactStack(stack: string): string {
  const seen = new Map<string, number>();
  const kept: string[] = [];
  let left = 0;
  for (const line of stack.split('\n')) {
    const count = (seen.get(line) ?? 0) + 1;
    seen.set(line, count);
    if (count > 2) left++;
    // The first line holds the error's message, which may quote a hostile input whole.
    else kept.push(line.length > 300 ? `${line.slice(0, 300)}…` : line);
  }
  if (left > 0) kept.push(`    (${left} repeated frames left out)`);
  return kept.slice(0, 40).join('\n');
}

/**
 * The error the counterexample throws when run once more with whole stacks recorded: a stack overflow's
 * first 10 frames (the default) are all recursion, not the code that started it. Cases run with the
 * default, as recording every stack in full would slow down every case that throws deep inside.
 */
async function withWholeStack<T>(check: (input: T) => void | Promise<void>, input: T): Promise<unknown> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = Infinity;
  try {
    await check(input);
    return undefined;
  } catch (error) {
    return error;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

async function failureOf<T>(
  details: fc.RunDetails<[T]>,
  check: (input: T) => void | Promise<void>,
): Promise<Failure> {
  const error = details.errorInstance;
  const kind: FailureKind =
    error instanceof SlowCase ? 'slow' : error instanceof HangCase ? 'hang' : 'property';
  // Only a plain failure is run again: a slow or hanging case would cost as much once more.
  const again =
    kind === 'property' && details.counterexample
      ? await withWholeStack(check, details.counterexample[0])
      : undefined;
  const thrown = again instanceof Error ? again : error;
  const cause = thrown instanceof Error && thrown.cause !== undefined ? thrown.cause : thrown;
  return {
    kind,
    message: describeError(error),
    stack: cause instanceof Error ? compactStack(cause.stack ?? '') : undefined,
    counterexample: details.counterexample
      ? clip(fc.stringify(details.counterexample[0]), MAX_SHOWN)
      : undefined,
    path: details.counterexamplePath ?? undefined,
    shrinks: details.numShrinks,
  };
}

/** Opens `target`, runs `options.cases` cases (or the one at `options.path`) and closes it. */
export async function runTarget(
  target: FuzzTarget,
  options: RunOptions,
  progress?: Progress,
): Promise<TargetReport> {
  const start = performance.now();
  const session = await target.open();
  const check = session.check.bind(session);
  try {
    const property = fc.asyncProperty(session.arbitrary, timed(check, options, progress));
    const details = await fc.check(property, {
      numRuns: options.cases,
      seed: options.seed,
      path: options.path,
      // The report is built here (failureOf); fast-check's own would print the whole input.
      includeErrorInReport: false,
    });
    return {
      target: target.name,
      seed: options.seed,
      cases: details.numRuns,
      ms: Math.round(performance.now() - start),
      failure: details.failed ? await failureOf(details, check) : undefined,
    };
  } finally {
    await session.dispose?.();
  }
}
