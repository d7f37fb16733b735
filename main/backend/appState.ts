/**
 * What the backend remembers in the workspace besides the run store: the datasets imported (with the
 * options they need to be read again) and, per run, the item selection it was started with (a resumed
 * run must select the same items, and the store keeps only their hash). Small JSON files under
 * `<workspace>/app/`, each replaced atomically.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { OpenDatasetOptions } from '../engine/datasets/index.ts';

export interface SavedDataset {
  readonly path: string;
  readonly options: OpenDatasetOptions;
}

export interface RunSelection {
  readonly datasetOptions: OpenDatasetOptions;
  readonly limit?: number;
  readonly itemIds?: readonly string[];
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined; // missing or damaged: the app works without it (runs stay in SQLite)
  }
}

/** Replaces `file` atomically (a temporary file renamed over it): a crash leaves the old or the new. */
export function writeJson(file: string, value: unknown): void {
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, `${JSON.stringify(value)}\n`);
  renameSync(temp, file);
}

export class AppState {
  private readonly dir: string;

  constructor(workspace: string) {
    this.dir = join(workspace, 'app');
    mkdirSync(join(this.dir, 'runs'), { recursive: true });
  }

  datasets(): SavedDataset[] {
    const saved = readJson<SavedDataset[]>(join(this.dir, 'datasets.json'));
    return Array.isArray(saved) ? saved.filter((d) => typeof d?.path === 'string') : [];
  }

  saveDataset(dataset: SavedDataset): void {
    const others = this.datasets().filter((d) => d.path !== dataset.path);
    writeJson(join(this.dir, 'datasets.json'), [...others, dataset]);
  }

  /** Drops an imported dataset from the list read at start; true when it was there. */
  forgetDataset(path: string): boolean {
    const saved = this.datasets();
    const kept = saved.filter((d) => d.path !== path);
    if (kept.length === saved.length) return false;
    writeJson(join(this.dir, 'datasets.json'), kept);
    return true;
  }

  runSelection(runId: number): RunSelection | undefined {
    return readJson<RunSelection>(this.runFile(runId));
  }

  saveRunSelection(runId: number, selection: RunSelection): void {
    writeJson(this.runFile(runId), selection);
  }

  deleteRunSelection(runId: number): void {
    rmSync(this.runFile(runId), { force: true });
  }

  private runFile(runId: number): string {
    return join(this.dir, 'runs', `${runId}.json`);
  }
}
