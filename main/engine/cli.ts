/**
 * `fusionscope` command line: answer, trace, info. Every failure prints `error [CODE]: message` and
 * exits non-zero; JSON outputs are written atomically, so a failed run never leaves a partial file.
 */
import { parseArgs } from 'node:util';

import { FusionError } from '../common/errors.ts';
import { OPTIONS, type Flags } from './cli/flags.ts';
import {
  analyzeCommand,
  contrastCommand,
  evalCommand,
  evolveCommand,
  reportCommand,
  runsCommand,
  sweepCommand,
} from './cli/experimentCommands.ts';
import { answerCommand, demoCommand, infoCommand, traceCommand } from './cli/sampleCommands.ts';
import { PROVIDERS } from './runtime/providers.ts';
import { PRECISIONS } from '../../native-models/onnx/storage.ts';
import { cacheCommand } from './cli/cacheCommands.ts';
import { terminalLine, terminalLines } from './cli/terminalText.ts';
import { defaultModelCacheDir } from './model/modelCache.ts';

const USAGE = `fusionscope — where does vision meet language?

Usage:
  fusionscope demo   [--model DIR] [--dataset DIR] [--count N]
  fusionscope answer --model DIR --image FILE --question TEXT [--max-new-tokens N]
  fusionscope trace  --model DIR --image FILE (--prompt RAW | --question TEXT) --json OUT
                     [--mask-mode knockout|hidden] [--mask-layers 1,3] [--mask-tokens 0,5,6]
                     [--mask-scale 0.1] [--attention-rows last|question] [--per-head] [--hidden-states]
  fusionscope info   --model DIR
  fusionscope cache list|clear [--key PREFIX]   the model cache (built graphs, one folder per model)

Experiments over a dataset (recorded in --workspace DIR, default ./fusionscope-workspace; resumable):
  fusionscope sweep    [--mode hidden|knockout] [--scale 0] [--window 1] [--limit N] [--resume auto|ID]
  fusionscope evolve   [--attention-rows last|question] [--per-head] [--limit N]
  fusionscope contrast [--candidate-layers 2,4] [--review-layer 6] [--rho 0.2] [--lambda 0.1]
  fusionscope eval     [--prompt-suffix TEXT]   plain answering accuracy (per family; POPE F1)
  fusionscope runs
  fusionscope report   [--out DIR]     figures (SVG, PNG) and CSV/JSON for the newest runs of the model
  fusionscope analyze  [--out DIR]     sweep + evolve + contrast + report (the headless main job)
  (each takes --model DIR --dataset PATH; defaults: the demo model and its test split)

Common options:
  --model DIR                          a Hugging Face model folder (default: the embedded demo model)
  --provider ${PROVIDERS.join('|')}   execution provider (default auto: GPU if usable, else CPU)
  --precision ${PRECISIONS.join('|')}     weights in memory (default auto: as the checkpoint stores them)
  --model-cache DIR                    where built models are kept (default ${defaultModelCacheDir()})
  --pad-to-square                      original LLaVA-1.5 expand2square before preprocessing
`;

const COMMANDS: Record<string, (flags: Flags) => Promise<void>> = {
  demo: demoCommand,
  answer: answerCommand,
  trace: traceCommand,
  info: infoCommand,
  sweep: sweepCommand,
  evolve: evolveCommand,
  contrast: contrastCommand,
  eval: evalCommand,
  runs: runsCommand,
  report: reportCommand,
  analyze: analyzeCommand,
};

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
      flags = parseArgs({ args: [...rest], options: OPTIONS, strict: true, allowPositionals: false })
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
