/**
 * `fusionscope` command line: answer, trace, info. Every failure prints `error [CODE]: message` and
 * exits non-zero; JSON outputs are written atomically, so a failed run never leaves a partial file.
 */
import { parseArgs } from 'node:util';

import { FusionError } from '../common/errors.ts';
import { OPTIONS, type Flags } from './cli/flags.ts';
import { ANALYSES } from './analyses/registry.ts';
import { FORMAT_NAMES } from './datasets/registry.ts';
import { analysisOptions, analysisUsage } from './cli/analysisFlags.ts';
import { analysisCommand, analyzeCommand, reportCommand, runsCommand } from './cli/experimentCommands.ts';
import { answerCommand, demoCommand, infoCommand, traceCommand } from './cli/sampleCommands.ts';
import { PROVIDERS } from './runtime/providers.ts';
import { PRECISIONS } from '../../native-models/onnx/storage.ts';
import { cacheCommand } from './cli/cacheCommands.ts';
import { exportCommand } from './cli/exportCommand.ts';
import { workerCommand } from './cli/queueCommands.ts';
import { terminalLine, terminalLines } from './cli/terminalText.ts';
import { defaultModelCacheDir } from './model/modelCache.ts';

const USAGE = `fusionscope — where does vision meet language?

Usage:
  fusionscope demo   [--model DIR] [--dataset DIR] [--count N]
  fusionscope answer --model DIR --image FILE --question TEXT [--max-new-tokens N]
  fusionscope trace  --model DIR --image FILE (--prompt RAW | --question TEXT) --json OUT
                     [--mask-mode knockout|attention|hidden] [--mask-layers 1,3] [--mask-tokens 0,5,6]
                     [--mask-scale 0.1] [--mask-heads 0,3] [--mask-queries all|last|question]
                     [--attention-rows last|question] [--per-head] [--hidden-states]
                     [--per-generated-token [--max-new-tokens N]]   each answer token's maps
  fusionscope info   --model DIR
  fusionscope cache list|clear [--key PREFIX]   the model cache (built graphs, one folder per model)

Analyses over a dataset (recorded in --workspace DIR, default ./fusionscope-workspace; resumable;
each also takes --model DIR --dataset PATH [--dataset-format NAME] [--limit N] [--resume auto|ID];
defaults: the demo model and its test split; the format is detected from the files unless named:
${FORMAT_NAMES.join(', ')}):
${analysisUsage()}  fusionscope runs
  fusionscope report   [--model DIR[,DIR…]] [--out DIR]   figures (SVG, PNG) and CSV/JSON for the newest
                                       runs of the model; of several, laid out as analyze lays them out,
                                       with their comparison, from the runs already made (none rerun)
  fusionscope analyze  [--model DIR[,DIR…]] [--out DIR]   the headless main job: sweep (knockout, then
                                       hidden; or --mode) + evolve + contrast + question-contrast + report,
                                       on each model given (default: every embedded demo model). With
                                       several: each model's report in OUT/NAME/ — NAME its folder's name
                                       (a hub model's repo name), lower case; where two collide, the parent
                                       folder's name before it, then -2, -3… — and their comparison on
                                       normalised depth in OUT/compare/ (compare.json, figures, CSV).
                                       --jobs N: models run at once, each in a process of its own with
                                       its share of the cores (default: on the CPU, as many as there are
                                       cores and as memory holds; on a GPU, one)
  fusionscope export   --run N --out DIR [--format csv|parquet|npz] [--force]   a run's samples, metrics
                                       and arrays for Python (default csv; layout in docs/SCHEMA.md)

Across machines (docs/QUEUE.md): any analysis above takes --queue URL [--queue-window N]: its items go
to workers through Redis (redis://[user:password@]host:port[/db], rediss:// for TLS; a password may
come from FUSIONSCOPE_QUEUE_PASSWORD) and its results come back into --workspace as a local run's.
  fusionscope worker   --queue URL [--model DIR[,DIR…]] [--concurrency N] [--lock-ms MS] [--worker-id NAME]
                                       takes the jobs of the models it holds until Ctrl-C/SIGTERM

Common options:
  --model DIR|ORG/NAME                 a Hugging Face model folder, a hub cache folder (models--org--name)
                                       or a hub id found in the local cache (HF_HUB_CACHE, HF_HOME;
                                       nothing is downloaded) (default: the embedded demo model)
  --revision REV                       with a hub id or cache folder: branch, tag or commit (default main)
  --provider ${PROVIDERS.join('|')}   execution provider (default auto: GPU if usable, else CPU)
  --precision ${PRECISIONS.join('|')}     weights in memory (default auto: as the checkpoint stores them)
  --model-cache DIR                    where built models are kept (default ${defaultModelCacheDir()})
  --threads N                          ONNX Runtime threads per model (default: one per core)
  --pad-to-square                      original LLaVA-1.5 expand2square before preprocessing
`;

const COMMANDS: Record<string, (flags: Flags) => Promise<void>> = {
  demo: demoCommand,
  answer: answerCommand,
  trace: traceCommand,
  info: infoCommand,
  ...Object.fromEntries(ANALYSES.map((analysis) => [analysis.kind, analysisCommand(analysis.kind)])),
  runs: runsCommand,
  report: reportCommand,
  analyze: analyzeCommand,
  export: exportCommand,
  worker: workerCommand,
};

/** Every command's flags: the common ones and the analyses' (one type per flag name). */
export function commandOptions(): typeof OPTIONS & Record<string, { type: 'string' | 'boolean' }> {
  const merged: Record<string, { type: 'string' | 'boolean' }> = { ...OPTIONS };
  for (const [flag, option] of Object.entries(analysisOptions())) {
    const known = merged[flag];
    if (known && known.type !== option.type) {
      throw new Error(`--${flag} is a ${option.type} flag of an analysis but a ${known.type} flag elsewhere`);
    }
    merged[flag] = option;
  }
  return merged as typeof OPTIONS & Record<string, { type: 'string' | 'boolean' }>;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...afterCommand] = argv;
  // `cache` takes an action word before its flags.
  const action = command === 'cache' ? afterCommand[0] : undefined;
  const rest = command === 'cache' ? afterCommand.slice(1) : afterCommand;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const run = command === 'cache' ? (flags: Flags) => cacheCommand(action, flags) : COMMANDS[command];
  try {
    if (!run)
      throw new FusionError(
        'BAD_ARGUMENT',
        `unknown command "${command}" (expected ${[...Object.keys(COMMANDS), 'cache'].join(', ')})`,
      );
    let flags: Flags;
    try {
      flags = parseArgs({ args: [...rest], options: commandOptions(), strict: true, allowPositionals: false })
        .values as Flags;
    } catch (error) {
      throw new FusionError('BAD_ARGUMENT', (error as Error).message);
    }
    if (flags.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    await run(flags);
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown } | null | undefined)?.code;
    const label = typeof code === 'string' ? code : 'INTERNAL';
    const message = (error as Error | null | undefined)?.message ?? String(error);
    // Messages quote file names and file contents: escaped, so they cannot drive the terminal.
    process.stderr.write(`error [${terminalLine(label)}]: ${terminalLines(String(message))}\n`);
    return label === 'BAD_ARGUMENT' ? 2 : 1;
  }
}
