/**
 * What the analyses share per sample: the item's question as the model is asked it, the gold answer's
 * first token, and per-layer maps stacked into the arrays the store keeps.
 */
import type { ArrayOutput, LayerMetricValue } from '../../common/runs.ts';
import { toDisplayMap } from '../analysis/imageTokens.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { probabilityOf, scoreAnswer } from '../experiments/scoring.ts';
import { prepareSample, type PreparedSample } from '../inference/forward.ts';
import type { LoadedModel } from '../model/openModel.ts';

/** Metrics of the unmasked run are stored once per sample, at layer 0, under this prefix. */
export const BASELINE_PREFIX = 'baseline_';

/** The item's question (with the suffix every question of the run gets) and image, prepared. */
export function prepareItem(
  model: LoadedModel,
  item: DatasetItem,
  options: { readonly promptSuffix?: string },
): Promise<PreparedSample> {
  const question = options.promptSuffix ? `${item.question}\n${options.promptSuffix}` : item.question;
  return prepareSample(model, { image: item.imagePath, prompt: { kind: 'question', text: question } });
}

/** The first token of the consensus answer, whose probability is a smooth stand-in for accuracy. */
export function goldToken(model: LoadedModel, item: DatasetItem): number | undefined {
  return item.answers.length
    ? model.tokenizer.encode(item.answers[0], { addSpecialTokens: false })[0]
    : undefined;
}

/**
 * One answer's score (when the item can be scored) and the gold token's probability at its first step
 * (when there is a gold answer), as metrics at `layer` named by `name('score' | 'gold_prob')`.
 */
export function answerMetrics(
  item: DatasetItem,
  gold: number | undefined,
  /** The generated answer and the logits its first token was chosen from. */
  answer: { readonly text: string; readonly lastLogits: Float32Array },
  layer: number,
  name: (metric: 'score' | 'gold_prob') => string,
): LayerMetricValue[] {
  const metrics: LayerMetricValue[] = [];
  const score = scoreAnswer(item, answer.text);
  if (score !== null) metrics.push({ layer, name: name('score'), value: score });
  if (gold !== undefined) {
    metrics.push({ layer, name: name('gold_prob'), value: probabilityOf(answer.lastLogits, gold) });
  }
  return metrics;
}

export function stack(rows: readonly ArrayLike<number>[]): Float32Array {
  const width = rows[0]?.length ?? 0;
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, i) => out.set(Array.from(row), i * width));
  return out;
}

/** Per-layer maps over image tokens, stored on the display cells (what the app and reports draw). */
export function displayArray(
  name: string,
  sample: PreparedSample,
  maps: readonly ArrayLike<number>[],
): ArrayOutput {
  const drawn = maps.map((m) => toDisplayMap(sample.imageLayout, m));
  return { name, data: stack(drawn), shape: [drawn.length, drawn[0]?.length ?? 0] };
}
