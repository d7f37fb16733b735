/**
 * Child process for the multi-process tests (runner.test.ts): runs the fake sweep over a workspace,
 * slowly, so the parent can start a second one beside it or kill it mid-run.
 * Usage: node --import tsx runner.child.testing.ts DIR COUNT DELAY_MS STALL_AT [GO_FILE]
 *
 * From item STALL_AT on, the work never finishes: the parent's kill then always lands before the run
 * completes, however slow the machine, while everything before it is ordinary kill-at-any-moment.
 * With GO_FILE, the child prints `ready` and starts only once that file exists, so two children can be
 * released at the same moment. On stdout, one line per event: `computed ID` when an item's computation
 * starts, `attached RUN_ID` when it follows another runner, `progress DONE/TOTAL`, `outcome JSON`.
 */
import { existsSync } from 'node:fs';

import { Workspace } from '../store/workspace.ts';
import { runOverDataset } from './runner.ts';
import { fakeOutput, fakeSpec, workFor } from './runner.testing.ts';

const [dir, count, delayMs, stallAt, goFile] = process.argv.slice(2);
const stallIndex = Number(stallAt);

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function released(): Promise<void> {
  if (goFile === undefined) return;
  say('ready');
  while (!existsSync(goFile)) await new Promise((resolve) => setTimeout(resolve, 2));
}

const workspace = Workspace.open(dir);
const spec = fakeSpec(Number(count), async (item, signal) => {
  say(`computed ${item.id}`);
  if (Number(item.id.slice('item-'.length)) >= stallIndex) {
    setInterval(() => {}, 60_000); // keeps the process alive while the work hangs
    await new Promise(() => {});
  }
  await workFor(Number(delayMs), signal);
  return fakeOutput(item.id);
});

released()
  .then(() =>
    runOverDataset(workspace, spec, {
      resume: 'auto',
      onAttach: (e) => say(`attached ${e.runId}`),
      onProgress: (e) => say(`progress ${e.done}/${e.total}`),
    }),
  )
  .then(
    (outcome) => {
      say(`outcome ${JSON.stringify(outcome)}`);
      workspace.close();
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
