/**
 * The harness keeps its promises on targets that misbehave on purpose (testing/misbehaving.ts): every
 * run ends, and says why, with the input that caused it.
 */
import { describe, expect, it } from 'vitest';

import { runIsolated } from './isolate.ts';
import type { RunOptions } from './run.ts';

const MISBEHAVING = { targets: new URL('./testing/misbehaving.ts', import.meta.url) };
const OPTIONS: RunOptions = { cases: 100, seed: 7, slowMs: 300, hangMs: 500 };

const run = (target: string, options: Partial<RunOptions> = {}) =>
  runIsolated(target, { ...OPTIONS, ...options }, MISBEHAVING);

describe('runIsolated', () => {
  it('runs every case of a target that holds', async () => {
    expect(await run('fine')).toMatchObject({ target: 'fine', seed: 7, cases: 100, failure: undefined });
  });

  it('reports a crash with the shrunk input, the stack and the replay path', async () => {
    const { failure } = await run('throws');
    expect(failure).toMatchObject({
      kind: 'property',
      counterexample: '51',
      message: expect.stringMatching(/^TypeError/),
    });
    expect(failure?.stack).toMatch(/misbehaving\.ts/);
    // The path replays the failure alone.
    const replay = await run('throws', { path: failure?.path });
    expect(replay).toMatchObject({ cases: 1, failure: { counterexample: '51' } });
  });

  it('fails a case slower than the budget, shrunk to the smallest slow input', async () => {
    expect((await run('slow')).failure).toMatchObject({ kind: 'slow', counterexample: '51' });
  });

  it('stops a case spinning synchronously, naming its input', async () => {
    const { failure } = await run('spins');
    expect(failure?.kind).toBe('hang');
    expect(failure?.message).toMatch(/^a case ran for \d+ ms without returning \(stopped\)/);
    expect(Number(failure?.counterexample)).toBeGreaterThan(50);
  });

  it('reports a case whose promise never settles, without shrinking it', async () => {
    for (const target of ['stalls', 'vanishes']) {
      const { failure } = await run(target);
      expect(failure).toMatchObject({
        kind: 'hang',
        message: expect.stringMatching(/had not settled after 500 ms/),
      });
      expect(Number(failure?.counterexample)).toBeGreaterThan(50);
    }
  });
});
