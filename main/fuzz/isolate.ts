/**
 * Runs a target in its own worker thread under a watchdog, so that nothing the fuzzer finds can stop
 * the run: a case spinning synchronously (which no timer in its own thread can interrupt) is ended
 * with `worker.terminate()` once it has run `hangMs`, and a case exhausting memory kills only the
 * worker (its heap is capped). Either comes back as a failure of the target, with the seed, the case
 * number and the input it was running (run.ts's Progress). A case whose promise never settles is
 * failed by run.ts's own timer.
 */
import { Worker } from 'node:worker_threads';

import { Progress, type RunOptions, type TargetReport } from './run.ts';
import type { WorkerInput } from './worker.ts';

export interface IsolateOptions {
  /** Heap limit of the worker, in MiB (array buffers are not counted by V8's limit). */
  readonly memoryMb?: number;
  /** The module whose FUZZ_TARGETS holds the target (default: targets/index.ts). */
  readonly targets?: URL;
}

const ALL_TARGETS = new URL('./targets/index.ts', import.meta.url);

const WATCHDOG_INTERVAL_MS = 250;

export function runIsolated(
  target: string,
  options: RunOptions,
  isolate: IsolateOptions = {},
): Promise<TargetReport> {
  const progress = new Progress();
  const input: WorkerInput = {
    targets: (isolate.targets ?? ALL_TARGETS).href,
    target,
    options,
    progress: progress.buffer,
  };
  const started = performance.now();
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
    workerData: input,
    resourceLimits: { maxOldGenerationSizeMb: isolate.memoryMb ?? 2048 },
  });

  return new Promise<TargetReport>((resolve) => {
    let settled = false;
    const finish = (report: TargetReport) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      void worker.terminate();
      resolve(report);
    };
    /** The report when the worker died or was stopped: the case it was on, and why. */
    const lost = (kind: 'hang' | 'crash', message: string) =>
      finish({
        target,
        seed: options.seed,
        cases: progress.started,
        ms: Math.round(performance.now() - started),
        failure: {
          kind,
          message: `${message} (case ${progress.started} of seed ${options.seed}, shrinking attempts included)`,
          counterexample: progress.started > 0 ? progress.lastInput() : undefined,
        },
      });

    const watchdog = setInterval(() => {
      const ms = progress.runningMs();
      if (ms > options.hangMs) lost('hang', `a case ran for ${ms} ms without returning (stopped)`);
    }, WATCHDOG_INTERVAL_MS);

    worker.on('message', (report: TargetReport) => finish(report));
    worker.on('error', (error) => lost('crash', `the worker failed: ${error.name}: ${error.message}`));
    worker.on('exit', (code) =>
      lost('crash', `the worker exited (code ${code}) before reporting: a promise that never settles?`),
    );
  });
}
