/**
 * Eval on an MMBench-style TSV: each question asked once per rotation of its options; the summary's
 * circular accuracy counts a question right only when every rotation is (VLMEvalKit's rule),
 * recomputed here from the stored per-rotation scores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EvalItemResult } from '../../common/analysis.ts';
import { runCli } from '../cli.testing.ts';
import { Workspace } from '../store/workspace.ts';
import { evalAnalysis, summarizeEval } from './eval.ts';

const MMBENCH = fileURLToPath(
  new URL('../datasets/fixtures/vlmevalkit/MMBench_DEV_EN_tiny.tsv', import.meta.url),
);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-eval-circular-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('eval on a circular benchmark', () => {
  it('scores each rotation and a question only when all its rotations are right', async () => {
    const workspacePath = join(root, 'workspace');
    const { code, stdout } = await runCli(['eval', '--dataset', MMBENCH, '--workspace', workspacePath]);
    expect(code).toBe(0);
    const workspace = Workspace.open(workspacePath);
    try {
      const run = workspace.listRuns().find((r) => r.kind === 'eval')!;
      const rows = workspace
        .readSamples<EvalItemResult>(run.id)
        .flatMap((s) => (s.status === 'ok' && s.result ? [s.result] : []));
      const groups = new Map<string, { right: number; seen: number; rotations: number }>();
      for (const row of rows) {
        expect(row.circular).toBeDefined();
        const g = groups.get(row.circular!.group) ?? {
          right: 0,
          seen: 0,
          rotations: row.circular!.rotations,
        };
        g.seen++;
        if (row.score === 1) g.right++;
        groups.set(row.circular!.group, g);
      }
      const complete = [...groups.values()].filter((g) => g.seen === g.rotations);
      expect(complete.length).toBeGreaterThan(0);
      const expected = complete.filter((g) => g.right === g.rotations).length / complete.length;
      const summary = summarizeEval(workspace, run.id);
      expect(summary.circular).toMatchObject({
        groups: complete.length,
        incomplete: groups.size - complete.length,
      });
      expect(summary.circular!.overall).toBeCloseTo(expected, 12);
      // More rotations than questions: the per-rotation score is over rows, the circular one over groups.
      expect(rows.length).toBeGreaterThan(complete.length);
      const lines = evalAnalysis.describe(summary, run);
      expect(lines.join('\n')).toContain(
        `circular (VLMEvalKit): ${expected.toFixed(3)} over ${complete.length} questions`,
      );
      expect(stdout).toContain('circular (VLMEvalKit)');
    } finally {
      workspace.close();
    }
  });
});
