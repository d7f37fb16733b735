/**
 * Plain answering, no intervention: the model's accuracy on the dataset, per question family, and POPE's
 * precision/recall/F1 where the items are POPE's — the baseline every other analysis is read against.
 */
import { z } from 'zod';

import type { CircularSlot, EvalItemResult, EvalSummary } from '../../common/analysis.ts';
import { circularAccuracy, evaluatePope, popeAnswer } from '../experiments/metrics/index.ts';
import { scoreAnswer } from '../experiments/scoring.ts';
import { generate } from '../inference/generate.ts';
import type { Workspace } from '../store/workspace.ts';
import { defineAnalysis, maxNewTokensSetting, promptSettings } from './analysis.ts';
import { runOfKind } from './runReads.ts';
import { BASELINE_PREFIX, prepareItem } from './samples.ts';

export const evalConfig = z.strictObject({ maxNewTokens: maxNewTokensSetting, ...promptSettings });

export function summarizeEval(workspace: Workspace, runId: number): EvalSummary {
  runOfKind(workspace, runId, 'eval');
  const rows = workspace
    .readSamples<EvalItemResult>(runId)
    .flatMap((s) => (s.status === 'ok' && s.result ? [s.result] : []));
  const scored = rows.filter((r) => r.score !== null);
  const byFamily: Record<string, { mean: number; n: number }> = {};
  for (const r of scored) {
    const f = (byFamily[r.family] ??= { mean: 0, n: 0 });
    f.mean += ((r.score as number) - f.mean) / ++f.n;
  }
  const pope = rows.filter((r) => r.metric === 'pope');
  const slotted = rows.filter(
    (r): r is EvalItemResult & { circular: CircularSlot } => r.circular !== undefined,
  );
  return {
    runId,
    sampleCount: rows.length,
    overall: scored.length ? scored.reduce((a, r) => a + (r.score as number), 0) / scored.length : NaN,
    byFamily,
    // Free-text answers go through POPE's own yes/no extraction, as its evaluation script does.
    pope: pope.length
      ? evaluatePope(
          pope.map((r) => r.answer),
          pope.map((r) => popeAnswer(r.gold[0])),
        )
      : null,
    // VLMEvalKit's circular evaluation (MMBench and kin): a question counts only if every rotation is right.
    circular: slotted.length ? circularAccuracy(slotted) : null,
  };
}

export const evalAnalysis = defineAnalysis({
  kind: 'eval',
  title: 'Accuracy',
  description: 'plain answering accuracy (per family; POPE F1)',
  config: evalConfig,

  async perSample(model, item, config) {
    const sample = await prepareItem(model, item, config);
    const answer = await generate(model, sample, { maxNewTokens: config.maxNewTokens });
    const score = scoreAnswer(item, answer.text);
    const result: EvalItemResult = {
      answer: answer.text,
      gold: item.answers,
      family: item.family,
      metric: item.metric,
      score,
      ...(item.circular ? { circular: item.circular } : {}),
    };
    return {
      result,
      metrics: score !== null ? [{ layer: 0, name: `${BASELINE_PREFIX}score`, value: score }] : [],
      arrays: [],
    };
  },

  summarize: (workspace, run) => summarizeEval(workspace, run.id),

  describe(s) {
    const lines = [`eval run ${s.runId}: score ${s.overall.toFixed(3)} over ${s.sampleCount} samples`];
    for (const [family, f] of Object.entries(s.byFamily)) {
      lines.push(`  ${family.padEnd(16)} ${f.mean.toFixed(3)} (n=${f.n})`);
    }
    if (s.pope) {
      const p = s.pope;
      lines.push(
        `  POPE: accuracy ${p.accuracy.toFixed(3)}, precision ${p.precision.toFixed(3)}, recall ${p.recall.toFixed(3)}, F1 ${p.f1.toFixed(3)}`,
      );
    }
    if (s.circular) {
      const c = s.circular;
      const left = c.incomplete ? `, ${c.incomplete} left out (a rotation missing or failed)` : '';
      lines.push(`  circular (VLMEvalKit): ${c.overall.toFixed(3)} over ${c.groups} questions${left}`);
    }
    return lines;
  },

  async report(report, run, s) {
    report.addTable(
      'accuracy',
      {
        title: `Accuracy by family (${s.sampleCount} samples)`,
        columns: ['family', { label: 'score', digits: 3, best: 'max' }, { label: 'n', digits: 0 }],
        rows: [
          ...Object.entries(s.byFamily).map(([family, f]) => [family, f.mean, f.n]),
          ['all', s.overall, Object.values(s.byFamily).reduce((n, f) => n + f.n, 0)],
          ...(s.circular ? [['circular (all rotations right)', s.circular.overall, s.circular.groups]] : []),
        ],
      },
      run,
    );
    return {
      runId: s.runId,
      samples: s.sampleCount,
      overall: s.overall,
      byFamily: s.byFamily,
      pope: s.pope,
      circular: s.circular ?? null,
    };
  },
});
