/**
 * One number per answer, in [0, 1], by the metric the dataset item declares: VQA soft accuracy over
 * the annotators' answers, normalised exact match, POPE yes/no, ANLS, or the option read from a
 * multiple-choice answer (VLMEvalKit's exact matching; circular accuracy is a per-question summary,
 * metrics/multipleChoice.ts `circularAccuracy`). Dataset-level POPE precision,
 * recall and F1 are computed from the per-item yes/no in the report, not here.
 */
import type { DatasetItem } from '../datasets/types.ts';
import { anls, choiceScore, exactMatch, popeAnswer, vqaAccuracy } from './metrics/index.ts';

export function scoreAnswer(item: DatasetItem, prediction: string): number | null {
  switch (item.metric) {
    case 'vqa':
      // The official formula needs several annotators; with fewer, exact match is the faithful score.
      return item.annotatorAnswers && item.annotatorAnswers.length >= 2
        ? vqaAccuracy(prediction, item.annotatorAnswers)
        : exactMatch(prediction, item.answers);
    case 'exact':
      return exactMatch(prediction, item.answers);
    case 'pope':
      return popeAnswer(prediction) === popeAnswer(item.answers[0]) ? 1 : 0;
    case 'anls':
      return anls(prediction, item.answers);
    case 'choice':
      // Importers give every 'choice' item its options, the gold label first in `answers`.
      return choiceScore(prediction, item.choices ?? [], item.answers[0]);
    case 'none':
      return null;
  }
}

/** Softmax probability of `index` (the gold answer's first token). */
export function probabilityOf(logits: ArrayLike<number>, index: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return Math.exp(logits[index] - max) / sum;
}
