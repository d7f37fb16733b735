/**
 * `npm run bench -- --analyze [--limit 60] [--jobs 1,2] [--threads N]`: the main job (`fusionscope
 * analyze`, the real CLI) on both embedded demo models, first-N test items, once per job count, each
 * in a fresh workspace. Prints each wall time and its ratio to the first job count's: what running
 * the models side by side in processes of their own (cli/analyzeJobs.ts) buys on this machine.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/fusionscope.mjs', import.meta.url));

function run(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(performance.now() - started)
        : reject(new Error(`analyze exited with ${code}: ${stderr.slice(-2000)}`)),
    );
  });
}

export async function analyzeJobsBench(options: {
  limit: number;
  jobs: readonly number[];
  threads?: number;
}): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'fusionscope-bench-analyze-'));
  try {
    // Builds the demo models' cache entries, so no variant pays for that.
    await run([
      'analyze',
      '--limit',
      '1',
      '--jobs',
      '1',
      '--workspace',
      join(root, 'warm'),
      '--out',
      join(root, 'warm-out'),
    ]);
    console.log(
      `analyze on both demo models, ${options.limit} test items, ${availableParallelism()} cores` +
        (options.threads ? `, --threads ${options.threads}` : ''),
    );
    let first: number | undefined;
    for (const jobs of options.jobs) {
      const dir = join(root, `jobs-${jobs}`);
      const args = ['analyze', '--limit', String(options.limit), '--jobs', String(jobs)];
      const threads = options.threads ? ['--threads', String(options.threads)] : [];
      const ms = await run([...args, ...threads, '--workspace', join(dir, 'ws'), '--out', join(dir, 'out')]);
      first ??= ms;
      console.log(`  --jobs ${jobs}: ${(ms / 1000).toFixed(1)} s  (${(first / ms).toFixed(2)}× the first)`);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
