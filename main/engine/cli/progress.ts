/** A one-line progress bar on stderr, redrawn in place on a terminal and printed sparsely otherwise. */
import type { RunProgress } from '../../common/runs.ts';
import { terminalLine } from './terminalText.ts';

function duration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '…';
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export function progressLine(e: RunProgress, width = 24): string {
  const filled = e.total ? Math.round((e.done / e.total) * width) : width;
  const failed = e.failed ? `, ${e.failed} failed` : '';
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${e.done}/${e.total}${failed} ETA ${duration(e.etaSeconds)}`;
}

export function progressReporter(label: string, stream: NodeJS.WriteStream = process.stderr) {
  let lastPrinted = -1;
  return (e: RunProgress) => {
    // Escaped: the label may come from user input; \r is ours to write, never the text's.
    const line = terminalLine(`${label} run ${e.runId} ${progressLine(e)}`);
    if (stream.isTTY) {
      stream.write(`\r${line}${e.done === e.total ? '\n' : ''}`);
    } else if (e.done === e.total || e.done - lastPrinted >= Math.max(1, Math.ceil(e.total / 10))) {
      stream.write(`${line}\n`);
      lastPrinted = e.done;
    }
  };
}
