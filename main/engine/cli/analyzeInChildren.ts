/**
 * One model of `fusionscope analyze --model A,B` in a process of its own, so that several run at once
 * (cli/analyzeJobs.ts says how many): the same CLI's one-model `analyze`, writing that model's runs
 * into the shared workspace (SQLite in WAL mode takes writers from several processes) and its report
 * into OUT/<slug>/. Its output is relayed line by line under the model's folder name; when it is done,
 * this process reads the model's digest for the comparison from the workspace, as it would have after
 * running the model itself.
 *
 * On POSIX, Ctrl-C (or SIGTERM, SIGHUP) reaches this process only — the children lead process groups
 * of their own — and each one is passed on to every child, which cancels its run cleanly: resumable,
 * as in one process. On Windows a console's Ctrl-C reaches every process attached to it, the children
 * included, so nothing is passed on (and no child opens a console window of its own).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { FusionError, isFusionErrorCode } from '../../common/errors.ts';
import { digestModel } from '../report/compare/modelDigest.ts';
import type { Workspace } from '../store/workspace.ts';
import { failedOutcome, type ModelAnalyzer, type Outcome, type PlannedModel } from './analyzeModels.ts';
import { withModel, type Flags } from './flags.ts';
import { terminalLine } from './terminalText.ts';

/** The command line's own entry (bundle or sources, whichever is fresh), as `npx fusionscope` runs it. */
const CLI_ENTRY = fileURLToPath(new URL('../../../bin/fusionscope.mjs', import.meta.url));

/** The flags that a child takes as they are: all but the models, the report folder and the job count. */
const NOT_PASSED = new Set(['model', 'out', 'jobs']);

/** Flags back as arguments; `--name=value`, so a value that starts with '-' stays a value. */
export function flagArgs(flags: Flags): string[] {
  return Object.entries(flags).flatMap(([name, value]) => {
    if (NOT_PASSED.has(name) || value === undefined || value === false) return [];
    return value === true ? [`--${name}`] : [`--${name}=${value}`];
  });
}

/** The failure a child's stderr ends with (`error [CODE]: message`, cli.ts's format), if it names one. */
export function childError(stderrLines: readonly string[]): { code: string; message: string } | undefined {
  for (let i = stderrLines.length - 1; i >= 0; i--) {
    const match = /^error \[([A-Z_]+)\]: (.*)$/.exec(stderrLines[i]);
    if (match) return { code: match[1], message: [match[2], ...stderrLines.slice(i + 1)].join('\n') };
  }
  return undefined;
}

function relay(stream: NodeJS.ReadableStream, to: NodeJS.WriteStream, prefix: string, keep?: string[]) {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on('line', (line) => {
    keep?.push(line);
    to.write(`${terminalLine(`${prefix}${line}`)}\n`);
  });
  return new Promise<void>((resolve) => lines.once('close', resolve));
}

/**
 * Runs `body` with an analyzer that puts each model in a child process; `threads`, when given, is
 * each child's ONNX Runtime thread count. Children still running when `body` ends (it threw) are
 * stopped.
 */
export async function withChildProcesses<T>(
  workspace: Workspace,
  flags: Flags,
  out: string,
  threads: number | undefined,
  body: (analyze: ModelAnalyzer) => Promise<T>,
): Promise<T> {
  const live = new Set<ChildProcess>();
  let cancelled = false;
  const posix = process.platform !== 'win32';
  const stop = () => {
    cancelled = true;
    if (posix) for (const child of live) child.kill('SIGINT');
  };
  const signals = ['SIGINT', 'SIGTERM', ...(posix ? ['SIGHUP'] : [])] as const;
  for (const signal of signals) process.on(signal, stop);

  const analyze = async (planned: PlannedModel): Promise<Outcome> => {
    if (cancelled) return 'cancelled';
    const args = [
      CLI_ENTRY,
      'analyze',
      `--model=${planned.requested}`,
      `--out=${join(out, planned.slug)}`,
      ...flagArgs({
        ...flags,
        ...(threads !== undefined && flags.threads === undefined ? { threads: String(threads) } : {}),
      }),
    ];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: posix,
      windowsHide: true,
    });
    live.add(child);
    const stderrLines: string[] = [];
    const prefix = `[${planned.slug}] `;
    const exited = new Promise<{ code: number | null; signal?: string | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const [{ code, signal, error }] = await Promise.all([
      exited,
      relay(child.stdout!, process.stdout, prefix),
      relay(child.stderr!, process.stderr, prefix, stderrLines),
    ]);
    live.delete(child);
    if (cancelled) return 'cancelled';
    if (code !== 0) {
      const reported = childError(stderrLines) ?? {
        code: 'INTERNAL',
        message: error
          ? `could not start: ${error.message}`
          : `the process analysing it ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`,
      };
      const failure = new FusionError(
        isFusionErrorCode(reported.code) ? reported.code : 'INTERNAL',
        reported.message,
      );
      return failedOutcome(planned, failure);
    }
    // Read when every child is done: the model is opened here only then, never beside running ones.
    const digest = () =>
      withModel({ ...flags, model: planned.requested }, (model) =>
        digestModel(workspace, model, planned.slug),
      );
    return { digest };
  };

  try {
    return await body(analyze);
  } finally {
    cancelled = true; // no child starts after this
    for (const signal of signals) process.off(signal, stop);
    for (const child of live) child.kill('SIGTERM');
  }
}
