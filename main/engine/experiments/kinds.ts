/**
 * What each experiment kind computes for one dataset item, in the shape the run store keeps: a JSON
 * result, per-layer metrics (for curves across samples) and large arrays (attention maps, CA).
 */
import type { ArrayOutput, LayerMetricValue, SampleOutput } from '../../common/runs.ts';
import { toDisplayMap } from '../analysis/imageTokens.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { prepareSample, type PreparedSample } from '../inference/forward.ts';
import { generate } from '../inference/generate.ts';
import type { LoadedModel } from '../model/openModel.ts';
import { contrastSample, type ContrastConfig } from './contrast.ts';
import { evolveSample, type EvolutionConfig } from './evolution.ts';
import { probabilityOf, scoreAnswer } from './scoring.ts';
import { sweepSample, type SweepConfig } from './sweep.ts';
import type {
  ContrastItemResult,
  EvalItemResult,
  EvolveItemResult,
  PromptOptions,
  SweepItemResult,
} from '../../common/analysis.ts';
export type {
  ContrastItemResult,
  EvalItemResult,
  EvolveItemResult,
  PromptOptions,
  SweepItemResult,
} from '../../common/analysis.ts';

export type LayerMetric = LayerMetricValue;
export type ItemOutput<R> = SampleOutput<R> & {
  readonly metrics: readonly LayerMetric[];
  readonly arrays: readonly ArrayOutput[];
};

/** Metrics of the unmasked run are stored once per sample, at layer 0, under this prefix. */
export const BASELINE_PREFIX = 'baseline_';

export function prepareItem(
  model: LoadedModel,
  item: DatasetItem,
  options: PromptOptions,
): Promise<PreparedSample> {
  const question = options.promptSuffix ? `${item.question}\n${options.promptSuffix}` : item.question;
  return prepareSample(model, { image: item.imagePath, prompt: { kind: 'question', text: question } });
}

function goldToken(model: LoadedModel, item: DatasetItem): number | undefined {
  return item.answers.length
    ? model.tokenizer.encode(item.answers[0], { addSpecialTokens: false })[0]
    : undefined;
}

function stack(rows: readonly ArrayLike<number>[]): Float32Array {
  const width = rows[0]?.length ?? 0;
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, i) => out.set(Array.from(row), i * width));
  return out;
}

export async function sweepItem(
  model: LoadedModel,
  item: DatasetItem,
  config: SweepConfig & PromptOptions,
  signal?: AbortSignal,
): Promise<ItemOutput<SweepItemResult>> {
  const sample = await prepareItem(model, item, config);
  const sweep = await sweepSample(model, sample, config, { signal });
  const gold = goldToken(model, item);
  const metrics: LayerMetric[] = [];
  const baselineScore = scoreAnswer(item, sweep.baseline.answer.text);
  if (baselineScore !== null)
    metrics.push({ layer: 0, name: `${BASELINE_PREFIX}score`, value: baselineScore });
  if (gold !== undefined)
    metrics.push({
      layer: 0,
      name: `${BASELINE_PREFIX}gold_prob`,
      value: probabilityOf(sweep.baseline.lastLogits, gold),
    });
  for (const outcome of sweep.masked) {
    const layer = outcome.layers[0];
    const score = scoreAnswer(item, outcome.answer.text);
    if (score !== null) metrics.push({ layer, name: 'score', value: score });
    if (gold !== undefined)
      metrics.push({ layer, name: 'gold_prob', value: probabilityOf(outcome.lastLogits, gold) });
  }
  return {
    result: {
      baselineAnswer: sweep.baseline.answer.text,
      baselineScore,
      maskedAnswers: sweep.masked.map((m) => m.answer.text),
    },
    metrics,
    arrays: [displayArray('baseline_attention', sample, sweep.baseline.imageAttention)],
  };
}

/** Per-layer maps over image tokens, stored on the display cells (what the app and reports draw). */
function displayArray(name: string, sample: PreparedSample, maps: readonly ArrayLike<number>[]): ArrayOutput {
  const drawn = maps.map((m) => toDisplayMap(sample.imageLayout, m));
  return { name, data: stack(drawn), shape: [drawn.length, drawn[0]?.length ?? 0] };
}

export async function evolveItem(
  model: LoadedModel,
  item: DatasetItem,
  config: EvolutionConfig & PromptOptions,
): Promise<ItemOutput<EvolveItemResult>> {
  const sample = await prepareItem(model, item, config);
  const evo = await evolveSample(model, sample, item.boxes, config);
  const metrics: LayerMetric[] = [];
  evo.maps.forEach((_, layer) => {
    metrics.push({ layer, name: 'entropy', value: evo.entropy[layer] });
    metrics.push({ layer, name: 'hellinger_to_final', value: evo.hellingerToFinal[layer] });
    if (evo.massInBox) metrics.push({ layer, name: 'box_mass', value: evo.massInBox[layer] });
  });
  return {
    result: { noiseTokens: evo.noise.map((t) => ({ token: t.token, persistence: t.persistence })) },
    metrics,
    arrays: [
      // Already on the display cells (evolveSample measured box mass and noise there).
      {
        name: 'maps',
        data: stack(evo.displayMaps),
        shape: [evo.displayMaps.length, evo.displayMaps[0].length],
      },
      ...(config.perHead
        ? [
            {
              name: 'per_head',
              data: stack(evo.displayPerHead),
              shape: [evo.displayPerHead.length, model.spec.decoder.heads, evo.displayMaps[0].length],
            },
          ]
        : []),
    ],
  };
}

export async function contrastItem(
  model: LoadedModel,
  item: DatasetItem,
  config: ContrastConfig & PromptOptions,
): Promise<ItemOutput<ContrastItemResult>> {
  const sample = await prepareItem(model, item, config);
  const c = await contrastSample(model, sample, config);
  const baselineScore = scoreAnswer(item, c.baseline.text);
  const refined: ContrastItemResult['refined'] = Object.fromEntries(
    Object.entries(c.refined).map(([method, g]) => [
      method,
      { answer: g.text, score: scoreAnswer(item, g.text) },
    ]),
  );
  const metrics: LayerMetric[] = [];
  if (baselineScore !== null)
    metrics.push({ layer: 0, name: `${BASELINE_PREFIX}score`, value: baselineScore });
  for (const [method, r] of Object.entries(refined)) {
    if (r.score !== null) metrics.push({ layer: 0, name: `${method}_score`, value: r.score });
  }
  return {
    result: {
      preLayer: c.preLayer,
      maskedTokens: c.maskedTokens,
      crops: c.crops,
      baselineAnswer: c.baseline.text,
      baselineScore,
      refined,
    },
    metrics,
    // The Contrastive view draws A^(i*), A^(final) and CA side by side from these alone.
    arrays: [
      ...(
        [
          ['ca', c.ca],
          ['pre', c.preMap],
          ['final', c.finalMap],
        ] as const
      ).map(([name, map]) => {
        const drawn = toDisplayMap(sample.imageLayout, map);
        return { name, data: Float32Array.from(drawn), shape: [drawn.length] };
      }),
    ],
  };
}

/** Plain answering (no intervention): the model's accuracy on the dataset. */
export async function evalItem(
  model: LoadedModel,
  item: DatasetItem,
  config: PromptOptions & { readonly maxNewTokens?: number },
): Promise<ItemOutput<EvalItemResult>> {
  const sample = await prepareItem(model, item, config);
  const answer = await generate(model, sample, { maxNewTokens: config.maxNewTokens ?? 8 });
  const score = scoreAnswer(item, answer.text);
  return {
    result: { answer: answer.text, gold: item.answers, family: item.family, metric: item.metric, score },
    metrics: score !== null ? [{ layer: 0, name: `${BASELINE_PREFIX}score`, value: score }] : [],
    arrays: [],
  };
}
