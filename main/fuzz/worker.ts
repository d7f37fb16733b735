/**
 * The worker side of isolate.ts: runs one target and posts its report. Started through worker.mjs,
 * which registers tsx's loader, so it imports the TypeScript sources as they are.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { Progress, runTarget, type RunOptions } from './run.ts';
import type { FuzzTarget } from './target.ts';

export interface WorkerInput {
  /** URL of a module exporting `FUZZ_TARGETS` (targets/index.ts; tests pass their own). */
  readonly targets: string;
  readonly target: string;
  readonly options: RunOptions;
  /** run.ts's Progress, shared with the watchdog. */
  readonly progress: SharedArrayBuffer;
}

const input = workerData as WorkerInput;
const { FUZZ_TARGETS } = (await import(input.targets)) as { FUZZ_TARGETS: readonly FuzzTarget[] };
const target = FUZZ_TARGETS.find((t) => t.name === input.target);
if (target === undefined) throw new Error(`no fuzz target "${input.target}" in ${input.targets}`);
const report = await runTarget(target, input.options, new Progress(input.progress));
parentPort?.postMessage(report);
