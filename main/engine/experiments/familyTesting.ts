/**
 * Shared set-up for the model-family end-to-end tests: a tiny checkpoint of the family written to a
 * temporary folder, opened on the CPU, a fresh workspace beside it, and the CLI run in-process with
 * its output captured. Registers its own beforeAll/afterAll.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, vi } from 'vitest';

import { writeTinyLlava, type TinyLlavaOptions } from '../../../native-models/testing/tinyLlava.ts';
import { main } from '../cli.ts';
import { openModel, type LoadedModel } from '../model/openModel.ts';
import { Workspace } from '../store/workspace.ts';

export interface TinyFamily {
  /** A temporary folder for the test's own files (removed afterwards). */
  readonly root: string;
  readonly folder: string;
  readonly model: LoadedModel;
  readonly workspace: Workspace;
}

/** The fixture's parts, readable once beforeAll has run. */
export function tinyFamilyFixture(name: string, options: TinyLlavaOptions): TinyFamily {
  let root = '';
  let model: LoadedModel | undefined;
  let workspace: Workspace | undefined;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), `fusionscope-${name}-`));
    await writeTinyLlava(join(root, 'model'), options);
    model = await openModel(join(root, 'model'), { provider: 'cpu' });
    workspace = Workspace.open(join(root, 'workspace'));
  });
  afterAll(async () => {
    workspace?.close();
    await model?.close();
    await rm(root, { recursive: true, force: true });
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('tinyFamilyFixture: used before beforeAll ran');
    return value;
  };
  return {
    get root() {
      return ready(root || undefined);
    },
    get folder() {
      return join(ready(root || undefined), 'model');
    },
    get model() {
      return ready(model);
    },
    get workspace() {
      return ready(workspace);
    },
  };
}

/** Runs `fusionscope <args>` in this process, capturing what it writes. */
export async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((stdout += String(c)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((stderr += String(c)), true));
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
