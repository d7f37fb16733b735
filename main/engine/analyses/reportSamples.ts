/**
 * Which samples a report draws, and what the model answered on them: shared by the sections that
 * draw overlays (evolve's layer strips, contrast's triptychs), so the examples span the question
 * families and every title says what the model said.
 */
import type { ContrastItemResult, SweepItemResult } from '../../common/analysis.ts';
import type { RunRow } from '../../common/runs.ts';
import type { DatasetItem } from '../datasets/types.ts';
import type { ReportContext } from '../report/reportContext.ts';
import { shorten } from '../report/reportContext.ts';

/**
 * `count` items spread over the question families: the first of each family (in the order families
 * first appear), then the second of each, and so on. Within a family, items with a box come first, so
 * the relevant region can be outlined.
 */
export function acrossFamilies(items: readonly DatasetItem[], count: number): DatasetItem[] {
  const families = new Map<string, DatasetItem[]>();
  for (const item of items) {
    const family = families.get(item.family) ?? [];
    family.push(item);
    families.set(item.family, family);
  }
  const queues = [...families.values()].map((family) => [
    ...family.filter((item) => item.boxes.length > 0),
    ...family.filter((item) => item.boxes.length === 0),
  ]);
  const chosen: DatasetItem[] = [];
  for (let round = 0; chosen.length < count && queues.some((q) => q.length > round); round++) {
    for (const queue of queues) {
      if (chosen.length < count && queue[round]) chosen.push(queue[round]);
    }
  }
  return chosen;
}

export interface ModelAnswer {
  readonly answer: string;
  readonly score: number | null;
}

/**
 * The model's unrefined answer per item, as the report's sweep run (else its contrast run) recorded
 * it, for runs on the same items as `run`; empty when the report has neither.
 */
export function modelAnswers(report: ReportContext, run: RunRow): Map<string, ModelAnswer> {
  const answers = new Map<string, ModelAnswer>();
  for (const kind of ['sweep', 'contrast']) {
    const source = report.runOf(kind);
    if (!source || source.dataset.itemsHash !== run.dataset.itemsHash) continue;
    for (const sample of report.workspace.readSamples<SweepItemResult | ContrastItemResult>(source.id)) {
      if (sample.status !== 'ok' || !sample.result || answers.has(sample.itemId)) continue;
      answers.set(sample.itemId, {
        answer: sample.result.baselineAnswer,
        score: sample.result.baselineScore,
      });
    }
  }
  return answers;
}

/** An answer as a title shows it: cut short, marked right or wrong where it was scored 1 or 0. */
export function answerText(answer: string, score: number | null | undefined, max = 24): string {
  const mark = score === 1 ? ' \u2713' : score === 0 ? ' \u2717' : '';
  return `${shorten(answer.trim() || '(empty)', max)}${mark}`;
}

/** "question — gold: X · model: Y ✓", the title of a sample's figure. */
export function sampleTitle(item: DatasetItem, answer: ModelAnswer | undefined): string {
  const gold = item.answers[0] ?? '\u2014';
  const model = answer ? ` \u00b7 model: ${answerText(answer.answer, answer.score)}` : '';
  return `${shorten(item.question, 64)} \u2014 gold: ${shorten(gold, 24)}${model}`;
}
