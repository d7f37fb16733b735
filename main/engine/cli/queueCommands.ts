/**
 * The queue's commands: `fusionscope worker` (takes sample jobs from Redis until stopped) and the
 * `--queue URL` every analysis takes (its items go to workers instead of being computed here).
 */
import { FusionError } from '../../common/errors.ts';
import type { QueueChoice } from '../experiments/experiment.ts';
import { DEMO_MODEL_DIRS } from '../demo.ts';
import { parseQueueAddress } from '../queue/address.ts';
import type { WorkerStatus } from '../queue/workers.ts';
import { modelList, modelOptions, parseIntList, required, type Flags } from './flags.ts';
import { terminalLine } from './terminalText.ts';

function intFlag(flags: Flags, name: string, min: number, max: number): number | undefined {
  const value = flags[name];
  if (typeof value !== 'string') return undefined;
  const [n] = parseIntList(value, name);
  if (n < min || n > max) throw new FusionError('BAD_ARGUMENT', `--${name} must be ${min}-${max}, got ${n}`);
  return n;
}

/** How the worker is named in the live list (default HOST-PID). */
function workerIdFlag(text: string): string {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(text)) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `--worker-id ${JSON.stringify(text.slice(0, 100))}: letters, digits, . _ - only (1-100)`,
    );
  }
  return text;
}

function say(line: string): void {
  process.stderr.write(`${terminalLine(line)}\n`);
}

function workerLine(w: WorkerStatus): string {
  const mean = w.meanSampleMs === null ? '' : `, ${Math.round(w.meanSampleMs)} ms/sample`;
  return `  ${w.id} on ${w.host}: ${w.provider}${w.card ? ` (${w.card})` : ''}, ${w.samples} sample(s)${mean}, ${w.busy} busy`;
}

/** `--queue URL [--queue-window N]` of an analysis command, or undefined for a local run. */
export function queueChoice(flags: Flags): QueueChoice | undefined {
  if (flags.queue === undefined) {
    if (flags['queue-window'] !== undefined)
      throw new FusionError('BAD_ARGUMENT', '--queue-window needs --queue');
    return undefined;
  }
  const address = parseQueueAddress(flags.queue);
  say(`queued run: items go to the workers on ${address.shown}`);
  return {
    address,
    window: intFlag(flags, 'queue-window', 1, 100_000),
    onWorkers: (workers, unserved) => {
      say(`${workers.length} live worker(s) on ${address.shown}`);
      for (const w of workers) say(workerLine(w));
      if (unserved !== null) say(`waiting: ${unserved}`);
    },
  };
}

/** `fusionscope worker --queue URL [--model DIR[,DIR…]] …`: computes jobs until SIGINT/SIGTERM. */
export async function workerCommand(flags: Flags): Promise<void> {
  const address = parseQueueAddress(required(flags, 'queue'));
  const models = modelList(flags, DEMO_MODEL_DIRS);
  const options = modelOptions(flags);
  const lockMs = intFlag(flags, 'lock-ms', 1000, 3_600_000);
  // Loaded here: the queue client is not part of every command's start-up.
  const { startWorker } = await import('../queue/worker.ts');
  const worker = await startWorker({
    address,
    models,
    revision: options.revision,
    provider: options.provider,
    precision: options.precision,
    cacheDir: options.cacheDir,
    concurrency: intFlag(flags, 'concurrency', 1, 64),
    lockMs,
    ...(flags['worker-id'] !== undefined ? { id: workerIdFlag(flags['worker-id']) } : {}),
    log: (line) => say(`worker: ${line}`),
  });
  say(`worker ${worker.id} takes jobs from ${address.shown}; Ctrl-C stops it (jobs in flight finish first)`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      say('worker: stopping after the jobs in flight');
      void worker.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
