/**
 * The long fuzz run: `npm run fuzz -- --cases 100000`. Runs the same targets and properties as
 * fuzz.test.ts, with the cases split between targets by their weight, each target in its own watched
 * worker (isolate.ts), one after the other. After a failure a target goes on with the next seed until
 * its cases are spent or it has found --max-failures distinct failures, so one run can find several
 * bugs (the same failure found again is counted, not printed again).
 * Prints the cases tried and the failures per target; exits 1 when anything failed.
 *
 *   --cases N         cases across all chosen targets (default 10000)
 *   --target a,b      only these targets (default: all)
 *   --seed S          first seed (default: from the clock; printed)
 *   --path P          with --seed and one --target: replay that counterexample
 *   --slow-ms N       a case slower than this fails as slow (default 2000)
 *   --hang-ms N       a case running longer than this is stopped as a hang (default 30000)
 *   --max-failures N  distinct failures per target before it stops (default 3)
 */
import { parseArgs } from 'node:util';

import { runIsolated } from './isolate.ts';
import { describeFailure } from './report.ts';
import type { TargetReport } from './run.ts';
import { FUZZ_TARGETS, targetByName } from './targets/index.ts';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '10000' },
    target: { type: 'string' },
    seed: { type: 'string' },
    path: { type: 'string' },
    'slow-ms': { type: 'string', default: '2000' },
    'hang-ms': { type: 'string', default: '30000' },
    'max-failures': { type: 'string', default: '3' },
  },
  strict: true,
});

function positive(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`--${name} must be a non-negative integer, got ${text}`);
  return n;
}

const targets = values.target === undefined ? FUZZ_TARGETS : values.target.split(',').map(targetByName);
const totalCases = positive('cases', values.cases);
const firstSeed = values.seed === undefined ? Date.now() % 2 ** 31 : positive('seed', values.seed);
const slowMs = positive('slow-ms', values['slow-ms']);
const hangMs = positive('hang-ms', values['hang-ms']);
const maxFailures = positive('max-failures', values['max-failures']);
if (values.path !== undefined && (targets.length !== 1 || values.seed === undefined)) {
  throw new Error('--path replays one counterexample: give it with --seed and a single --target');
}

/** Cases per target in proportion to its weight; the rounding remainder goes to the first targets. */
function split(total: number): number[] {
  const weights = targets.reduce((sum, t) => sum + t.weight, 0);
  const shares = targets.map((t) => Math.floor((total * t.weight) / weights));
  let rest = total - shares.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % shares.length, rest--) shares[i]++;
  return shares;
}

interface TargetSummary {
  readonly name: string;
  cases: number;
  ms: number;
  /** Every failure, and the first report of each distinct one (by signature). */
  failures: number;
  readonly distinct: Map<string, { report: TargetReport; count: number }>;
}

/**
 * What tells two failures apart: their kind, message (numbers left out) and the first frame outside
 * the fuzz harness. The same bug found again with another seed is counted, not printed again.
 */
function signature(report: TargetReport): string {
  const failure = report.failure!;
  const frame = failure.stack
    ?.split('\n')
    .find((line) => line.includes(' at ') && !line.includes('/main/fuzz/'));
  return `${failure.kind}|${failure.message.replace(/\d+/g, 'N').slice(0, 200)}|${frame?.trim() ?? ''}`;
}

async function fuzzTarget(name: string, cases: number): Promise<TargetSummary> {
  const summary: TargetSummary = { name, cases: 0, ms: 0, failures: 0, distinct: new Map() };
  // A bug that fails every case must not turn the run into one worker per case.
  const enough = () => summary.distinct.size >= maxFailures || summary.failures >= 10 * maxFailures;
  for (let seed = firstSeed; summary.cases < cases && !enough(); seed++) {
    const report = await runIsolated(name, {
      cases: values.path === undefined ? cases - summary.cases : 1,
      seed,
      slowMs,
      hangMs,
      path: values.path,
    });
    summary.cases += Math.max(report.cases, 1);
    summary.ms += report.ms;
    if (report.failure !== undefined) {
      summary.failures++;
      const key = signature(report);
      const known = summary.distinct.get(key);
      if (known !== undefined) known.count++;
      else {
        summary.distinct.set(key, { report, count: 1 });
        console.log(`\n${describeFailure(report)}\n`);
      }
    }
    if (values.path !== undefined) break;
  }
  return summary;
}

console.log(`fuzzing ${targets.map((t) => t.name).join(', ')}: ${totalCases} cases, first seed ${firstSeed}`);
const started = performance.now();
const summaries: TargetSummary[] = [];
const shares = split(totalCases);
for (const [i, target] of targets.entries()) {
  const summary = await fuzzTarget(target.name, shares[i]);
  summaries.push(summary);
  const seen = [...summary.distinct.values()].map((d) => `${d.count}×`).join(' + ');
  console.log(
    `${summary.name.padEnd(12)} ${String(summary.cases).padStart(7)} cases  ${summary.failures} failures` +
      `${summary.failures > 0 ? ` (${summary.distinct.size} distinct: ${seen})` : ''}  ${(summary.ms / 1000).toFixed(1)} s`,
  );
}
const cases = summaries.reduce((sum, s) => sum + s.cases, 0);
const failures = summaries.reduce((sum, s) => sum + s.failures, 0);
console.log(
  `total        ${String(cases).padStart(7)} cases  ${failures} failures  ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
// Exit now: a worker stopped mid-case may leave a file-system request behind that would hold the process.
process.exit(failures > 0 ? 1 : 0);
