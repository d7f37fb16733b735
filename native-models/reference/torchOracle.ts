/**
 * Dev-tool support for the make_*_fixtures.ts scripts: running a PyTorch oracle (torch_llava.py,
 * torch_qwen.py, torch_instructblip.py) and storing its runs rounded to 9 significant digits. Not used
 * by the tests, which read the committed fixtures.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ReferenceIntervention } from './llava.ts';
import type { TorchRun } from './torchFixture.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
/** Debian's python3-torch is enough; FUSIONSCOPE_TORCH_PYTHON names another interpreter. */
const python = process.env.FUSIONSCOPE_TORCH_PYTHON ?? '/usr/bin/python3';

/** Runs `python3 <this folder>/<script> ...args` and returns its stdout; its warnings go to stderr. */
export function runTorchOracle(script: string, args: string[], what = args[0]): string {
  const proc = spawnSync(python, [join(here, script), ...args], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (proc.status !== 0) throw new Error(`${script} ${what} failed (${proc.status}):\n${proc.stderr}`);
  if (proc.stderr.trim()) process.stderr.write(proc.stderr);
  return proc.stdout;
}

export const round9 = (x: number): number => Number(x.toPrecision(9));

/** Every number in nested arrays rounded to 9 significant digits. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const roundDeep = (v: any): any => (Array.isArray(v) ? v.map(roundDeep) : round9(v as number));

/** The request's `runs`: name → interventions. */
export function runsRequest(
  runs: ReadonlyArray<{ name: string; interventions: ReferenceIntervention[] }>,
): Record<string, ReferenceIntervention[]> {
  return Object.fromEntries(runs.map((r) => [r.name, r.interventions]));
}

/** The oracle's result runs, in the order of `runs`, rounded for the fixture. */
export function roundedRuns(
  runs: ReadonlyArray<{ name: string; interventions: ReferenceIntervention[] }>,
  results: Record<string, { logits: number[]; attention: number[][]; hidden: number[][] }>,
): TorchRun[] {
  return runs.map(({ name, interventions }) => {
    const r = results[name];
    return {
      name,
      interventions,
      logits: r.logits.map(round9),
      attention: roundDeep(r.attention),
      hidden: roundDeep(r.hidden),
    };
  });
}
