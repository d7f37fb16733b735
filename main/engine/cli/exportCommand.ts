/**
 * `fusionscope export --run N --format csv|parquet|npz --out DIR [--force]`: one run of the workspace as
 * files for Python (layout: docs/SCHEMA.md, "Exports"). Reads the workspace only: a workspace this user
 * may not write is read as it is, and a missing one is an error rather than a new empty workspace.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { shownPath } from '../../../native-models/files/messageText.ts';
import { FusionError } from '../../common/errors.ts';
import { exportRun } from '../export/exportRun.ts';
import { parseExportFormat } from '../export/formats.ts';
import { DATABASE_FILE, Workspace } from '../store/workspace.ts';
import { DEFAULT_WORKSPACE } from './experimentCommands.ts';
import { parseIntList, required, type Flags } from './flags.ts';
import { terminalLine } from './terminalText.ts';

export async function exportCommand(flags: Flags): Promise<void> {
  const runText = required(flags, 'run');
  const [runId, ...more] = parseIntList(runText, 'run');
  if (more.length > 0) throw new FusionError('BAD_ARGUMENT', `--run: give one run id, got "${runText}"`);
  const format = parseExportFormat(flags.format ?? 'csv');
  const out = required(flags, 'out');
  const dir = flags.workspace ?? DEFAULT_WORKSPACE;
  if (!existsSync(join(dir, DATABASE_FILE))) {
    throw new FusionError('BAD_ARGUMENT', `--workspace: no workspace database in ${shownPath(dir)}`);
  }
  const workspace = Workspace.openForReading(dir);
  try {
    const summary = await exportRun({ workspace, runId, format, out, force: flags.force === true });
    if (summary.run.status !== 'done') {
      process.stderr.write(
        terminalLine(
          `run ${runId} is ${summary.run.status}: exported the ${summary.samples} samples recorded so far`,
        ) + '\n',
      );
    }
    if (summary.datasetProblem !== null) {
      process.stderr.write(
        terminalLine(
          `the run's dataset could not be read, so samples carry no question, answers or family: ${summary.datasetProblem}`,
        ) + '\n',
      );
    }
    process.stdout.write(
      terminalLine(
        `exported ${summary.run.kind} run ${runId} (${summary.samples} samples, ${summary.metrics} metric values, ` +
          `${summary.arrays} arrays) to ${summary.out}: ${summary.files.join(', ')}`,
      ) + '\n',
    );
  } finally {
    workspace.close();
  }
}
