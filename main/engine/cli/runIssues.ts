/**
 * What a run could not use, said when it ends. Skipped dataset entries: a benchmark can skip
 * thousands, so all of them go with their reasons to `<workspace>/skipped-<dataset>-<time>.txt` and
 * the terminal shows the path and the first few. Failed samples: their messages otherwise live only in
 * the workspace database, so they are counted per reason, with the first items of each.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { printable, quoted } from '../../../native-models/files/messageText.ts';
import { groupFailures } from '../../common/failureReasons.ts';
import type { SampleRow } from '../../common/runs.ts';
import { describeSkipped, type DatasetItem, type SkippedItem } from '../datasets/index.ts';
import type { Workspace } from '../store/workspace.ts';

/** Entries, reasons and items per reason printed; the file and the app have the rest. */
const SHOWN = 5;
const ITEMS_PER_REASON = 3;

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** A file-name-safe form of the dataset name and time: `skipped-vqav2-val-20240131-142501.txt`. */
export function skippedFileName(dataset: string, now: Date): string {
  const name = dataset.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 80) || 'dataset';
  const time = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `skipped-${name}-${time}.txt`;
}

/** Writes every skipped entry to a file in `folder`; returns the lines to print (none when none). */
export async function reportSkipped(
  skipped: readonly SkippedItem[],
  folder: string,
  dataset: string,
  now = new Date(),
): Promise<string[]> {
  if (skipped.length === 0) return [];
  const file = join(folder, skippedFileName(dataset, now));
  const count = plural(skipped.length, 'dataset entry', 'dataset entries');
  let head: string;
  try {
    await writeFile(file, skipped.map((s) => `${describeSkipped(s)}\n`).join(''));
    head = `${count} skipped, all listed with their reasons in ${file}:`;
  } catch (error) {
    // The run is done; a list that cannot be saved is no reason to fail the command.
    head = `${count} skipped (the full list could not be written to ${file}: ${(error as NodeJS.ErrnoException).code}):`;
  }
  const more = skipped.length - SHOWN;
  return [
    head,
    ...skipped.slice(0, SHOWN).map((s) => `  ${describeSkipped(s)}`),
    ...(more > 0 ? [`  … and ${more} more`] : []),
  ];
}

/** Failed samples counted per reason (`groupFailures`), most frequent first, with their first items. */
export function summarizeFailures(
  failed: readonly Pick<SampleRow, 'itemId' | 'error'>[],
  items: readonly DatasetItem[],
): string[] {
  if (failed.length === 0) return [];
  const imagePaths = new Map(items.map((item) => [item.id, item.imagePath]));
  const groups = groupFailures(failed, (id) => imagePaths.get(id), ITEMS_PER_REASON);
  const lines = groups.slice(0, SHOWN).map(({ reason, count, itemIds }) => {
    const shown = itemIds.map((id) => quoted(id, 60)).join(', ');
    const rest = count > itemIds.length ? `, … ${count - itemIds.length} more` : '';
    return `  ${count} × ${printable(reason, 300)} (${count === 1 ? 'item' : 'items'} ${shown}${rest})`;
  });
  const more = groups.length - SHOWN;
  return [
    `${plural(failed.length, 'sample', 'samples')} failed:`,
    ...lines,
    ...(more > 0 ? [`  … and ${plural(more, 'other reason', 'other reasons')}`] : []),
  ];
}

/** The lines printed after a run: its skipped dataset entries, then its failed samples by reason. */
export async function runIssues(
  workspace: Workspace,
  outcome: {
    readonly runId: number;
    readonly skipped: readonly SkippedItem[];
    readonly items: readonly DatasetItem[];
  },
): Promise<string[]> {
  const run = workspace.getRun(outcome.runId);
  const skipped = await reportSkipped(outcome.skipped, workspace.dir, run.dataset.name);
  const failed = run.failed > 0 ? workspace.readSamples(run.id).filter((s) => s.status === 'error') : [];
  return [...skipped, ...summarizeFailures(failed, outcome.items)];
}
