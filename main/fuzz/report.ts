/** How a target's report reads, in the unit test's failure message and in the long run's output. */
import type { TargetReport } from './run.ts';

/** The command that replays a failure: same target, seed and (when known) counterexample path. */
export function replayCommand(report: TargetReport): string {
  const path = report.failure?.path ? ` --path ${report.failure.path}` : '';
  return `npm run fuzz -- --target ${report.target} --seed ${report.seed}${path}`;
}

/** A multi-line account of a failure: kind, error, the shrunk input, where it was thrown, the replay. */
export function describeFailure(report: TargetReport): string {
  const failure = report.failure;
  if (failure === undefined) return `${report.target}: no failure`;
  const lines = [
    `${report.target}: ${failure.kind} failure after ${report.cases} cases (seed ${report.seed})`,
    `  ${failure.message}`,
  ];
  if (failure.counterexample !== undefined) {
    lines.push(`  counterexample (after ${failure.shrinks ?? 0} shrinks): ${failure.counterexample}`);
  }
  if (failure.stack) lines.push(`  thrown at:\n${failure.stack.replace(/^/gm, '    ')}`);
  lines.push(`  replay: ${replayCommand(report)}`);
  return lines.join('\n');
}
