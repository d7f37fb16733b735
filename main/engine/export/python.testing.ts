/**
 * Python as an independent reader in tests: a python3 of this machine (see PYTHON), or the
 * interpreter named by FUSIONSCOPE_TEST_PYTHON (a virtual environment with pandas and pyarrow, say). Checks that need a
 * module skip, saying which, when the interpreter lacks it.
 */
import { spawnSync } from 'node:child_process';

/**
 * The interpreter: FUSIONSCOPE_TEST_PYTHON, else the first of Debian's and the PATH's python3 that has
 * pandas (a PATH shim, pyenv say, may hide Debian's python3-pandas), else the first that runs.
 */
export const PYTHON = process.env.FUSIONSCOPE_TEST_PYTHON || choosePython(['/usr/bin/python3', 'python3']);

function choosePython(candidates: readonly string[]): string {
  const works = (python: string, code: string) =>
    spawnSync(python, ['-c', code], { stdio: 'ignore', timeout: 60_000 }).status === 0;
  return (
    candidates.find((python) => works(python, 'import pandas')) ??
    candidates.find((python) => works(python, 'pass')) ??
    'python3'
  );
}

const known = new Map<string, boolean>();

/** Whether PYTHON runs and imports every module named. */
export function pythonHas(...modules: string[]): boolean {
  const key = modules.join(',');
  let has = known.get(key);
  if (has === undefined) {
    const imports = modules.length ? `import ${modules.join(', ')}` : 'pass';
    has = spawnSync(PYTHON, ['-c', imports], { stdio: 'ignore', timeout: 60_000 }).status === 0;
    known.set(key, has);
  }
  return has;
}

/** Why a check is skipped, for the test's name: printed by vitest beside the skip. */
export function skipReason(...modules: string[]): string {
  if (!pythonHas()) return ` (skipped: no ${PYTHON} on this machine)`;
  const missing = modules.filter((m) => !pythonHas(m));
  return missing.length ? ` (skipped: ${PYTHON} has no ${missing.join(', ')})` : '';
}

export interface PythonRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a script file with arguments. */
export function runPython(script: string, args: readonly string[], cwd?: string): PythonRun {
  const run = spawnSync(PYTHON, [script, ...args], { encoding: 'utf8', timeout: 120_000, cwd });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Runs code given as text (`python -c`). */
export function runPythonCode(code: string, args: readonly string[] = []): PythonRun {
  const run = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
